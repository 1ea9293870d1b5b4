ALTER TABLE images DROP COLUMN placeholder, DROP COLUMN dominant_color;
