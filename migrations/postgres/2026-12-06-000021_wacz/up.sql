-- Web archives (WACZ).
--
-- A capture's version records its WARC's own SHA-256 beside the payload's,
-- so that a package's `ledger/proofs.json` proves the very bytes of each
-- WARC it holds. Versions recorded before this hold none (and are proven by
-- their payload's digest, which the WARC's response record carries).
ALTER TABLE sources ADD COLUMN warc_sha256 TEXT;

-- What a package needs to know of each WARC before it sends a byte: the
-- CRC-32 of the file (the ZIP headers carry it) and the index lines of its
-- response records (offsets inside the WARC). Derived from the WARC's bytes,
-- which never change under their name: made once, on first packaging.
CREATE TABLE warc_indexes (
    warc_sha256 TEXT PRIMARY KEY NOT NULL,
    crc32 BIGINT NOT NULL,
    -- One JSON object a line: {"url", "ts", "mime", "status", "digest",
    -- "offset", "length"} for each response record, in file order.
    records TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);
