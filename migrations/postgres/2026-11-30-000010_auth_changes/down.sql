DROP TRIGGER auth_changes_key_changed ON api_keys;
DROP TRIGGER auth_changes_subscriber_deleted ON subscribers;
DROP FUNCTION auth_changed();
DROP TABLE auth_changes;
