-- Work done once by whichever node claims it first (FOR UPDATE SKIP LOCKED, no
-- coordinator). A claim is a lease: a node that dies mid-job leaves it to another once
-- `locked_until` passes. Housekeeping (`prune`) is the first kind; webhook deliveries and
-- image encodes will be others.
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    locked_by    text,
    done_at      timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE done_at IS NULL;
INSERT INTO jobs (kind) VALUES ('prune');
