-- What a change changed, for webhook subscribers: the fields and an article's previous slug
-- (`{"fields": [...], "previous_slug": "..."}`). Older releases neither write nor read it.
ALTER TABLE changes ADD COLUMN changes jsonb;
