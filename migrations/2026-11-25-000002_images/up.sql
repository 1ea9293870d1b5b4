-- Uploaded images and their resized variants; authors' avatars.

CREATE TABLE images (
    id            uuid PRIMARY KEY,
    -- SHA-256 of the uploaded bytes: uploading the same file again returns this image.
    sha256        bytea NOT NULL,
    mime_type     text NOT NULL,
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    -- Size of the served original (metadata stripped), in bytes.
    byte_size     bigint NOT NULL CHECK (byte_size > 0),
    -- Object-store key of the served original.
    storage_key   text NOT NULL,
    -- [{"name": "w640", "width": 640, "height": 427, "mime_type": "image/jpeg", "key": "...", "byte_size": 1234}]
    variants      jsonb NOT NULL DEFAULT '[]',
    alt           text,
    caption       text,
    credit        text,
    focal_x       real CHECK (focal_x BETWEEN 0 AND 1),
    focal_y       real CHECK (focal_y BETWEEN 0 AND 1),
    -- The author an author-role token uploaded it as (authors may change only their own).
    owner_author_id uuid REFERENCES authors (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX images_sha256_key ON images (sha256);
CREATE INDEX images_created_at_id ON images (created_at, id);
CREATE INDEX images_updated_at_id ON images (updated_at, id);
CREATE INDEX images_mime_type_created_at ON images (mime_type, created_at, id);
CREATE INDEX images_owner_author_id ON images (owner_author_id);

-- An image in use as an avatar cannot be deleted (409 names the authors).
ALTER TABLE authors ADD COLUMN avatar_image_id uuid REFERENCES images (id) ON DELETE RESTRICT;
CREATE INDEX authors_avatar_image_id ON authors (avatar_image_id);
