ALTER TABLE article_revisions DROP COLUMN saved_by_user;
ALTER TABLE changes DROP COLUMN actor;
DROP TABLE article_notes;
UPDATE articles SET status = 'draft' WHERE status = 'in_review';
DELETE FROM article_totals WHERE status = 'in_review';
ALTER TABLE articles DROP CONSTRAINT articles_status_check;
ALTER TABLE articles ADD CONSTRAINT articles_status_check
    CHECK (status IN ('draft', 'published', 'archived'));
DELETE FROM api_tokens WHERE role = 'contributor';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_author_role;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_author_role
    CHECK ((role = 'author') = (author_id IS NOT NULL));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'editor', 'author'));
ALTER TABLE api_tokens DROP COLUMN user_id;
DROP TABLE sessions;
DROP TABLE user_links;
DROP TABLE users;
