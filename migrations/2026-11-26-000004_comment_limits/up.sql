-- Comment rate limits and the duplicate check: one row per bucket (a hash of "ip:<address
-- or /64>", "email:<address>" or "same:<article>:<email>:<body>"), counted by one atomic
-- INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so parallel requests cannot all pass.
CREATE TABLE comment_limits (
    bucket        bytea PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL
);
CREATE INDEX comment_limits_window_start ON comment_limits (window_start);
-- Nothing counts comments by address any more.
DROP INDEX comments_ip_created;
