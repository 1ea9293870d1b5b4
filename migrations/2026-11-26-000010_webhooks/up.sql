-- Webhooks read the one change feed: a change says what its subscribers hear
-- (`announce`: `article.published`, `comment.approved`, ...; NULL for nothing public) and,
-- for something that can no longer be shown (a deleted or unpublished article), what
-- identifies it (`subject`: `{id, slug}`).
ALTER TABLE changes ADD COLUMN announce text, ADD COLUMN subject jsonb;

-- Where each reader of the feed that is shared by all nodes stands (the webhook
-- dispatcher: one node at a time holds the row, FOR UPDATE SKIP LOCKED). It starts now:
-- changes from before webhooks existed announce nothing.
CREATE TABLE feed_readers (
    name text PRIMARY KEY,
    txid bigint NOT NULL,
    id bigint NOT NULL
);
INSERT INTO feed_readers VALUES ('webhooks', pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 0);

CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    -- Kept as given (lede signs with it), never shown again after creation or rotation.
    secret text NOT NULL,
    -- Secrets rotated out, each signing beside the current one until its time is up:
    -- [{"secret": "whsec_...", "until": "<timestamptz>"}].
    retired_secrets jsonb NOT NULL DEFAULT '[]',
    -- The first failure since the last success: five days of failures disable the endpoint.
    failing_since timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One event for one endpoint (the outbox): retried with the same `message_id` (the
-- `webhook-id` header) until it succeeds or its attempts run out. `seq` orders an
-- endpoint's deliveries: only its oldest pending one is ever sent.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    seq bigserial NOT NULL UNIQUE,
    webhook_id uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    message_id text NOT NULL,
    event_type text NOT NULL,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    locked_by text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (webhook_id, seq) WHERE state = 'pending';

-- Every attempt, as the delivery log shows it.
CREATE TABLE webhook_attempts (
    id uuid PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    webhook_id uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    attempt integer NOT NULL,
    response_status integer,
    duration_ms integer NOT NULL,
    error text,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_log ON webhook_attempts (webhook_id, created_at, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- Articles scheduled before webhooks existed are announced at their instant too.
INSERT INTO jobs (kind, payload, run_at)
SELECT 'publication', jsonb_build_object('article_id', id, 'at', published_at), published_at
FROM articles WHERE status = 'published' AND published_at > now();
