-- A counter that every revocation of an API key and every deletion of a
-- subscriber moves, in the same transaction, by trigger (so no path that
-- revokes or deletes can forget it). Each server process polls it to drop
-- what it holds in memory about live tokens: a revocation made through one
-- process takes effect in the others within a second.
CREATE TABLE auth_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter BIGINT NOT NULL
);
INSERT INTO auth_changes (id, counter) VALUES (1, 0);
CREATE FUNCTION auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_changes SET counter = counter + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER auth_changes_subscriber_deleted AFTER DELETE ON subscribers
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
CREATE TRIGGER auth_changes_key_changed AFTER UPDATE OF revoked_at, role ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION auth_changed();
