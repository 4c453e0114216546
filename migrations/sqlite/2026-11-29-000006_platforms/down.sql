DROP INDEX subscribers_platform_email;
ALTER TABLE subscribers DROP COLUMN platform_updated_at;
ALTER TABLE subscribers DROP COLUMN platform_id;
DROP TABLE platforms;
