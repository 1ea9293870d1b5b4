DROP TABLE article_old_slugs;
DROP TABLE article_revisions;
DROP TABLE article_images;
DROP TABLE article_tags;
DROP TABLE articles;
