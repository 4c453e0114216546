DROP TRIGGER auth_changes_key_changed;
DROP TRIGGER auth_changes_subscriber_deleted;
DROP TABLE auth_changes;
