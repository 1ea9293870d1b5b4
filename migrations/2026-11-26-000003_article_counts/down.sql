DROP INDEX articles_public_author;
