ALTER TABLE articles DROP COLUMN external_id;
