DROP INDEX articles_public_kind_published;
DROP INDEX articles_sitemap;
DROP TABLE preview_links;
ALTER TABLE article_revisions DROP COLUMN meta_title, DROP COLUMN meta_description;
ALTER TABLE articles DROP COLUMN meta_title, DROP COLUMN meta_description;
