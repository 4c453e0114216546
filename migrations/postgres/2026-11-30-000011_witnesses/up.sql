-- The cosignatures this log's witnesses returned: one signature line per
-- checkpoint size and witness (by its verifier key).
CREATE TABLE witness_cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    cosigned_at TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);

-- Acting as a witness: the latest checkpoint cosigned for each log (by its
-- origin), checked and replaced in one transaction.
CREATE TABLE witnessed_logs (
    origin TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root_hash BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Signed checkpoints a witness refused as evidence of a log's misbehaviour:
-- a fork (the log's signature on two roots for one size), each kept once.
CREATE TABLE witness_refusals (
    id BIGSERIAL PRIMARY KEY,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX witness_refusals_origin ON witness_refusals (origin);
