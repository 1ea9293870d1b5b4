-- A tag's former slugs answer 301 to where it lives now: after a rename, and after it is
-- merged into another tag (its slugs then lead to the tag that stayed).
CREATE TABLE tag_old_slugs (
    slug        text PRIMARY KEY,
    tag_id      uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tag_old_slugs_tag_id ON tag_old_slugs (tag_id);

-- A reply written by a member of staff (signed in, or with a token), under their byline.
ALTER TABLE comments ADD COLUMN staff boolean NOT NULL DEFAULT false;
