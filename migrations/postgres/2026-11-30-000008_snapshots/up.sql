-- Archived copies: one row per stored payload, named by the SHA-256 of its
-- bytes. An upload has only the bytes; a capture also has the WARC it was
-- archived in (the request and response records, stored as a blob of its own)
-- and the URL it came from.
CREATE TABLE snapshots (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('upload', 'capture')),
    url TEXT,
    warc_sha256 TEXT,
    warc_size BIGINT,
    stored_at TEXT NOT NULL,
    stored_by TEXT NOT NULL
);

-- When a version's snapshot was captured (a version made by a capture).
ALTER TABLE sources ADD COLUMN captured_at TEXT;
