CREATE INDEX comments_ip_created ON comments (ip, created_at);
DROP TABLE comment_limits;
