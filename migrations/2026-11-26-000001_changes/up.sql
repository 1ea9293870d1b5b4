-- The change feed: every write that changes what the public sees records one row in the
-- writer's transaction, with the keys of what it changed (`article:<id>`, `articles`, ...).
-- The same transaction NOTIFYs `lede_changes` with the row, delivered at commit: each node's
-- response cache drops the answers that show those keys. Later readers (webhooks, search)
-- follow the table itself.
CREATE TABLE changes (
    id bigserial PRIMARY KEY,
    resource text NOT NULL,
    resource_id uuid,
    event text NOT NULL,
    keys text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_created_at ON changes (created_at);
