-- Articles: markdown bodies rendered on save, tags, revisions, old slugs, full-text search.

CREATE TABLE articles (
    id                    uuid PRIMARY KEY,
    slug                  text NOT NULL,
    title                 text NOT NULL,
    subtitle              text,
    -- The excerpt as given (NULL: derived from the first paragraph into `excerpt`).
    excerpt_given         text,
    excerpt               text NOT NULL DEFAULT '',
    body_markdown         text NOT NULL DEFAULT '',
    body_html             text NOT NULL DEFAULT '',
    -- Plain text of the body with figure captions: what search reads.
    body_text             text NOT NULL DEFAULT '',
    toc                   jsonb NOT NULL DEFAULT '[]',
    word_count            integer NOT NULL DEFAULT 0,
    reading_time_minutes  integer NOT NULL DEFAULT 0,
    -- `scheduled` is not stored: it is `published` with `published_at` in the future.
    status                text NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    published_at          timestamptz,
    author_id             uuid NOT NULL REFERENCES authors (id) ON DELETE RESTRICT,
    cover_image_id        uuid REFERENCES images (id) ON DELETE RESTRICT,
    comments_open         boolean NOT NULL DEFAULT true,
    version               integer NOT NULL DEFAULT 1,
    search_language       regconfig NOT NULL DEFAULT 'english',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- The list's default order: publication time, creation time for drafts.
    sort_at               timestamptz GENERATED ALWAYS AS (coalesce(published_at, created_at)) STORED,
    search                tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(search_language, title), 'A') ||
        setweight(to_tsvector(search_language, coalesce(subtitle, '') || ' ' || excerpt), 'B') ||
        setweight(to_tsvector(search_language, body_text), 'C')
    ) STORED,
    CONSTRAINT articles_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT articles_published_has_time CHECK (status <> 'published' OR published_at IS NOT NULL)
);
CREATE UNIQUE INDEX articles_slug_key ON articles (slug);
-- Public lists: published ones by time (the query adds published_at <= now()).
CREATE INDEX articles_public_sort ON articles (sort_at, id) WHERE status = 'published';
CREATE INDEX articles_sort_at_id ON articles (sort_at, id);
CREATE INDEX articles_status_sort ON articles (status, sort_at, id);
CREATE INDEX articles_author_sort ON articles (author_id, sort_at, id);
CREATE INDEX articles_title_id ON articles (title, id);
CREATE INDEX articles_updated_at_id ON articles (updated_at, id);
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_cover_image_id ON articles (cover_image_id);
CREATE INDEX articles_search ON articles USING gin (search);

CREATE TABLE article_tags (
    article_id  uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id      uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_tag_id ON article_tags (tag_id, article_id);

-- Images shown as figures in a body: they cannot be deleted while used.
CREATE TABLE article_images (
    article_id  uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    image_id    uuid NOT NULL REFERENCES images (id) ON DELETE RESTRICT,
    PRIMARY KEY (article_id, image_id)
);
CREATE INDEX article_images_image_id ON article_images (image_id);

-- Every saved version of an article, as it was written.
CREATE TABLE article_revisions (
    article_id     uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version        integer NOT NULL,
    title          text NOT NULL,
    subtitle       text,
    excerpt_given  text,
    body_markdown  text NOT NULL,
    status         text NOT NULL,
    published_at   timestamptz,
    author_id      uuid NOT NULL,
    cover_image_id uuid,
    tag_ids        jsonb NOT NULL DEFAULT '[]',
    comments_open  boolean NOT NULL,
    slug           text NOT NULL,
    -- The token that saved it.
    saved_by       uuid,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, version)
);

-- Slugs an article had before: a GET by one answers 301 to the current URL.
CREATE TABLE article_old_slugs (
    slug        text PRIMARY KEY,
    article_id  uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);
CREATE INDEX article_old_slugs_article_id ON article_old_slugs (article_id);
