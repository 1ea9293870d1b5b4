-- Pages (About, Contact, an imprint) live beside articles: one slug space, one write path,
-- but not in the default lists, searches or feeds. Few: their own small index serves both
-- their list and the count the public list subtracts.
ALTER TABLE articles ADD COLUMN kind text NOT NULL DEFAULT 'article'
    CONSTRAINT articles_kind_check CHECK (kind IN ('article', 'page'));
CREATE INDEX articles_pages ON articles (sort_at, id) WHERE kind = 'page';
