-- The append-only log. One row: the tree head, also the writers' lock.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size BIGINT NOT NULL,
    last_at TEXT NOT NULL
);
INSERT INTO ledger_head (id, size, last_at) VALUES (1, 0, '');

CREATE TABLE ledger_entries (
    idx BIGINT PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    leaf TEXT NOT NULL,
    leaf_hash BYTEA NOT NULL
);

-- The tree's hashes by sumdb/tlog stored-hash index: a proof reads O(log n) rows.
CREATE TABLE ledger_hashes (
    id BIGINT PRIMARY KEY NOT NULL,
    hash BYTEA NOT NULL
);

CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    root_hash BYTEA NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_hashes_append_only BEFORE UPDATE OR DELETE ON ledger_hashes
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
