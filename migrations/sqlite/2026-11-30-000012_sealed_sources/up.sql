-- Sealed sources: the record and its salt, sealed (ChaCha20-Poly1305 under
-- the data dir's platform.key, bound to the id) so that a dump of the
-- database does not reveal them; the ledger holds only the commitment.
CREATE TABLE sealed_sources (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    commitment TEXT NOT NULL,
    sealed_record BLOB NOT NULL,
    sealed_at TEXT NOT NULL,
    sealed_by TEXT NOT NULL,
    ledger_index BIGINT NOT NULL,
    disclosed_at TEXT,
    disclosed_by TEXT,
    disclosure_index BIGINT
);
