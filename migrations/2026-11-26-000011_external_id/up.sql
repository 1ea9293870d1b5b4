-- Where an article came from (a WordPress post id, a file path): scripts and importers
-- create or replace by it (`PUT /api/v1/articles/by-external-id/{external_id}`).
ALTER TABLE articles ADD COLUMN external_id text;
ALTER TABLE articles ADD CONSTRAINT articles_external_id_key UNIQUE (external_id);
