-- Authors, tags and API tokens: the foundation every later resource stands on.

CREATE TABLE authors (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text NOT NULL,
    email       text,
    bio         text,
    website     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT authors_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100)
);
CREATE UNIQUE INDEX authors_slug_key ON authors (slug);
CREATE UNIQUE INDEX authors_email_key ON authors (lower(email));
-- One index per sort order, with id as the keyset tie-breaker.
CREATE INDEX authors_name_id ON authors (name, id);
CREATE INDEX authors_created_at_id ON authors (created_at, id);
CREATE INDEX authors_updated_at_id ON authors (updated_at, id);

CREATE TABLE tags (
    id           uuid PRIMARY KEY,
    slug         text NOT NULL,
    name         text NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100)
);
CREATE UNIQUE INDEX tags_slug_key ON tags (slug);
CREATE INDEX tags_name_id ON tags (name, id);
CREATE INDEX tags_created_at_id ON tags (created_at, id);
CREATE INDEX tags_updated_at_id ON tags (updated_at, id);

CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'editor', 'author')),
    -- An author-role token writes as exactly one author; other roles are bound to none.
    author_id     uuid REFERENCES authors (id) ON DELETE CASCADE,
    -- SHA-256 of the secret: the secret itself is shown once and never stored.
    secret_hash   bytea NOT NULL,
    -- The first characters of the secret, so a person can tell tokens apart in a list.
    secret_prefix text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    CONSTRAINT api_tokens_author_role CHECK ((role = 'author') = (author_id IS NOT NULL))
);
CREATE UNIQUE INDEX api_tokens_secret_hash_key ON api_tokens (secret_hash);
CREATE INDEX api_tokens_created_at_id ON api_tokens (created_at, id);
CREATE INDEX api_tokens_author_id ON api_tokens (author_id);

-- A retried POST with the same Idempotency-Key replays the first answer.
CREATE TABLE idempotency_keys (
    key           text NOT NULL,
    -- Who sent it: a token id, or the nil uuid for anonymous requests.
    principal     uuid NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    body_hash     bytea NOT NULL,
    status        smallint NOT NULL,
    location      text,
    body          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- One-off facts about this database (e.g. when the demo content was loaded).
CREATE TABLE lede_meta (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
