DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE feed_readers;
ALTER TABLE changes DROP COLUMN announce, DROP COLUMN subject;
