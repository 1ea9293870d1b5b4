-- People: accounts that sign in (invited by an admin, disabled rather than deleted), their
-- server-side sessions (so any node can end them), the one-use links that let them choose a
-- password, and the tokens they own.
CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'editor', 'author', 'contributor')),
    -- The byline they write under, if any.
    author_id      uuid REFERENCES authors (id) ON DELETE SET NULL,
    status         text NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    -- Argon2id in PHC string form; none until an invitation is accepted.
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz,
    CONSTRAINT users_active_has_password CHECK (status <> 'active' OR password_hash IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_at_id ON users (created_at, id);
CREATE INDEX users_name_id ON users (name, id);
CREATE INDEX users_author_id ON users (author_id);

-- An invitation or a password reset: a secret link shown once, kept as its SHA-256, used once.
CREATE TABLE user_links (
    secret_hash  bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_links_user_id ON user_links (user_id);

-- A signed-in browser. The cookie holds a secret kept here as its SHA-256; the session ends
-- when idle too long, at its absolute expiry, on sign-out, or when its person is disabled.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    secret_hash   bytea NOT NULL,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Sent back with every write the session makes (X-CSRF-Token).
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz
);
CREATE UNIQUE INDEX sessions_secret_hash_key ON sessions (secret_hash);
CREATE INDEX sessions_user_id ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Sign-in failures are counted in the comments' rate-limit buckets (`comment_limits`, kept
-- under its name so the previous release's nodes go on counting comments during a deploy).

-- Tokens belong to people; a contributor, like an author, writes as one author.
ALTER TABLE api_tokens ADD COLUMN user_id uuid REFERENCES users (id);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'editor', 'author', 'contributor'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_author_role;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_author_role
    CHECK ((role IN ('author', 'contributor')) = (author_id IS NOT NULL));

-- Review: a submitted draft waits for an editor.
ALTER TABLE articles DROP CONSTRAINT articles_status_check;
ALTER TABLE articles ADD CONSTRAINT articles_status_check
    CHECK (status IN ('draft', 'in_review', 'published', 'archived'));
-- Every status has its row in the totals (a status change only updates them).
INSERT INTO article_totals (status, articles) VALUES ('in_review', 0) ON CONFLICT DO NOTHING;

-- Editorial notes: an internal thread per article, never public.
CREATE TABLE article_notes (
    id          uuid PRIMARY KEY,
    article_id  uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    body        text NOT NULL,
    -- Who wrote it, as the activity log names actors ({kind, id, name}).
    actor       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_notes_article_id ON article_notes (article_id, created_at, id);

-- Who made each change ({kind: user | token | system, id, name}) and the person who saved
-- each revision; older releases neither write nor read them.
ALTER TABLE changes ADD COLUMN actor jsonb;
-- The activity log's filters: by what a change is about, and by who made it.
CREATE INDEX changes_resource_id ON changes (resource_id, id);
CREATE INDEX changes_actor_id ON changes ((actor->>'id'), id);
ALTER TABLE article_revisions ADD COLUMN saved_by_user uuid;
