-- Notifications out (SPEC "The public face"): an admin's subscriptions, each a
-- URL, the events it wants and its Standard Webhooks secret (sealed with
-- the data dir's platform.key, as the platforms' are), and one delivery row
-- per subscription and ledger entry, with its state and last try.
CREATE TABLE notification_subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    -- A JSON array of event names.
    events TEXT NOT NULL,
    secret BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    -- The log's size when it was made: only later entries are sent.
    from_index BIGINT NOT NULL
);

CREATE TABLE notification_deliveries (
    subscription_id TEXT NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
    entry_index BIGINT NOT NULL,
    event TEXT NOT NULL,
    -- The request body, exactly as sent on every try.
    payload TEXT NOT NULL,
    -- pending, delivered or failed.
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_http_status INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    PRIMARY KEY (subscription_id, entry_index)
);
CREATE INDEX notification_deliveries_by_state ON notification_deliveries (state, subscription_id, entry_index);

-- How far the log has been read for events: entries from next_index on are
-- still to be looked at. Advanced in the transaction that makes their
-- delivery rows.
CREATE TABLE notification_cursor (
    id INTEGER PRIMARY KEY NOT NULL,
    next_index BIGINT NOT NULL
);
INSERT INTO notification_cursor (id, next_index) VALUES (1, 0);

INSERT INTO leases (name, holder, expires_at) VALUES ('notifications', '', '1970-01-01T00:00:00.000000Z');
