-- The editor's desk: a browser signed in as staff. Its cookie carries 256
-- random bits; only their SHA-256 is kept here. `csrf` is the token every
-- form that changes something must carry back. A session ends at
-- `expires_at`, when its holder signs out (`ended_at`), or when the API key
-- it was opened with is revoked (checked on every request).
CREATE TABLE desk_sessions (
    id_hash BLOB PRIMARY KEY NOT NULL,
    csrf TEXT NOT NULL,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX desk_sessions_by_subject ON desk_sessions (subject);
