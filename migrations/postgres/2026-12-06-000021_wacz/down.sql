DROP TABLE warc_indexes;
ALTER TABLE sources DROP COLUMN warc_sha256;
