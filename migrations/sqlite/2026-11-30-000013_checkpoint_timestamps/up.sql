-- RFC 3161 time-stamp replies for signed checkpoints: the TSA's whole
-- TimeStampResp (DER) over SHA-256 of the checkpoint's signed text, and the
-- time it states.
CREATE TABLE checkpoint_timestamps (
    size BIGINT PRIMARY KEY,
    reply BLOB NOT NULL,
    gen_time TEXT NOT NULL,
    stamped_at TEXT NOT NULL
);
