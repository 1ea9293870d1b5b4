-- Counting the public articles (every list's `meta.total`) reads this index alone (an
-- index-only scan once the visibility map is current) instead of the whole table.
CREATE INDEX articles_public_published_at ON articles (published_at) WHERE status = 'published';
