-- The replayed answer's ETag (a resource's ETag carries its version, not only a digest).
ALTER TABLE idempotency_keys ADD COLUMN etag text;
