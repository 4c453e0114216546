ALTER TABLE sources DROP COLUMN captured_at;
DROP TABLE snapshots;
