-- An author's `article_count` (public articles) is counted from this index alone.
CREATE INDEX articles_public_author ON articles (author_id, published_at) WHERE status = 'published';
