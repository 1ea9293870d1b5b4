-- What a front-end builds a site from: SEO overrides, preview links, and the indexes the
-- sitemap and previous/next read.
ALTER TABLE articles ADD COLUMN meta_title text, ADD COLUMN meta_description text;
ALTER TABLE article_revisions ADD COLUMN meta_title text, ADD COLUMN meta_description text;

-- One row per preview link: the token signs its id, article and expiry; deleting the rows
-- revokes the links (a signature alone could not be taken back).
CREATE TABLE preview_links (
    id uuid PRIMARY KEY,
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX preview_links_article ON preview_links (article_id);
CREATE INDEX preview_links_expires_at ON preview_links (expires_at);

-- The sitemap pages public articles by id, read from the index alone.
CREATE INDEX articles_sitemap ON articles (id) INCLUDE (slug, kind, updated_at, published_at)
    WHERE status = 'published';
-- Previous and next: by publication time within a kind.
CREATE INDEX articles_public_kind_published ON articles (kind, published_at, id)
    WHERE status = 'published';
