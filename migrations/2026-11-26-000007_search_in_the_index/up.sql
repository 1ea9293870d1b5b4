-- Search is answered by each node's index (tantivy), fed by the change feed: the tsvector
-- and its GIN index cost every write and answered nothing.
DROP INDEX articles_search;
ALTER TABLE articles DROP COLUMN search;
