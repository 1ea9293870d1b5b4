-- What a front-end paints before an image arrives: a ThumbHash (base64) and the average
-- colour (`#rrggbb`). Made from the pixels at upload; older images have none until they
-- are processed again.
ALTER TABLE images ADD COLUMN placeholder text, ADD COLUMN dominant_color text;
