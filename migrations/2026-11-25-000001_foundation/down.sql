DROP TABLE lede_meta;
DROP TABLE idempotency_keys;
DROP TABLE api_tokens;
DROP TABLE tags;
DROP TABLE authors;
