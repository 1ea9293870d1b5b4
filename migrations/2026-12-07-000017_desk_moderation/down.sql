ALTER TABLE comments DROP COLUMN staff;
DROP TABLE tag_old_slugs;
