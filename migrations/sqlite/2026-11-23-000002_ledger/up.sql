-- The append-only log. One row: the tree head, also the writers' lock.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size BIGINT NOT NULL,
    last_at TEXT NOT NULL
);
INSERT INTO ledger_head (id, size, last_at) VALUES (1, 0, '');

CREATE TABLE ledger_entries (
    idx INTEGER PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    leaf TEXT NOT NULL,
    leaf_hash BLOB NOT NULL
);

-- The tree's hashes by sumdb/tlog stored-hash index: a proof reads O(log n) rows.
CREATE TABLE ledger_hashes (
    id INTEGER PRIMARY KEY NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
);

CREATE TRIGGER ledger_entries_append_only_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_append_only_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_hashes_append_only_update BEFORE UPDATE ON ledger_hashes
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_hashes_append_only_delete BEFORE DELETE ON ledger_hashes
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_checkpoints_append_only_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_checkpoints_append_only_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
