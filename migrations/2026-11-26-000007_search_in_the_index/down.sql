ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(search_language, title), 'A') ||
    setweight(to_tsvector(search_language, coalesce(subtitle, '') || ' ' || excerpt), 'B') ||
    setweight(to_tsvector(search_language, body_text), 'C')
) STORED;
CREATE INDEX articles_search ON articles USING gin (search);
