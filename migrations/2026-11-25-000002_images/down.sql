ALTER TABLE authors DROP COLUMN avatar_image_id;
DROP TABLE images;
