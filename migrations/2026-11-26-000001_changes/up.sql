-- The change feed: every write that changes what the public sees records one row in the
-- writer's transaction, with the keys of what it changed (`article:<id>`, `articles`, ...).
-- The same transaction NOTIFYs `lede_changes` with those keys, delivered at commit: each
-- node's response cache drops the answers that show them. The rows are for readers that
-- must not miss a change (webhooks, the search index: next issues); kept 7 days.
CREATE TABLE changes (
    id bigserial PRIMARY KEY,
    resource text NOT NULL,
    resource_id uuid,
    event text NOT NULL,
    keys text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_created_at ON changes (created_at);
