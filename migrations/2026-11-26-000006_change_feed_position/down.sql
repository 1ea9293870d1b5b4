DROP INDEX changes_txid;
ALTER TABLE changes DROP COLUMN txid;
