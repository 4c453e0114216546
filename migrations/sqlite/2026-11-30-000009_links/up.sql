-- The link monitor's view of each cited URL: its state (live, changed, gone,
-- error), when it was last checked and when its state last changed (the
-- ledger entry of that change), the digest of the body last seen, and when
-- to check it next.
CREATE TABLE link_checks (
    source_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('live', 'changed', 'gone', 'error')),
    detail TEXT,
    digest TEXT,
    checked_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    ledger_index BIGINT NOT NULL,
    next_check_at TEXT NOT NULL,
    PRIMARY KEY (source_id, url)
);
CREATE INDEX link_checks_due ON link_checks (next_check_at);

-- Work only one server may do at a time (the link monitor), held for a while
-- and renewed; a holder that stops renewing is taken over when it expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
INSERT INTO leases (name, holder, expires_at) VALUES ('link-monitor', '', '1970-01-01T00:00:00.000000Z');
