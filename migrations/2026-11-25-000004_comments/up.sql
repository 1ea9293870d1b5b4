-- Reader comments: public submission, moderation, threads, private commenter data.

CREATE TABLE comments (
    id             uuid PRIMARY KEY,
    article_id     uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- A reply's parent; comments with replies are never removed, only tombstoned.
    parent_id      uuid REFERENCES comments (id) ON DELETE CASCADE,
    author_name    text NOT NULL,
    -- Private: never in a response without an editor's or admin's token.
    author_email   text NOT NULL,
    author_url     text,
    body_markdown  text NOT NULL,
    body_html      text NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'approved', 'spam', 'trash')),
    -- Private, like the email.
    ip             text NOT NULL,
    user_agent     text,
    -- Set when deleted while it had replies: the thread stays readable.
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_article_status ON comments (article_id, status, created_at, id);
CREATE INDEX comments_status_created ON comments (status, created_at, id);
CREATE INDEX comments_created_at_id ON comments (created_at, id);
CREATE INDEX comments_parent_id ON comments (parent_id);
-- Rate limits and duplicate checks look back a few minutes by email and by IP.
CREATE INDEX comments_email_created ON comments (lower(author_email), created_at);
CREATE INDEX comments_ip_created ON comments (ip, created_at);
