-- Readers of the change feed (each node's search index, later webhooks) follow it by the
-- writing transaction's id. `id` is taken at insert, not at commit, so a reader at `id = n`
-- could miss an n-1 that commits later; instead a reader takes the changes of transactions
-- older than the oldest one still running (`pg_snapshot_xmin`): those are all committed or
-- gone, and none can be added.
ALTER TABLE changes ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX changes_txid ON changes (txid, id);
