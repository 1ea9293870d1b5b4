ALTER TABLE changes DROP COLUMN changes;
