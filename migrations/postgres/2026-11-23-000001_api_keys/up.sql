CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash BYTEA NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- At most one key is ever made by the first-start bootstrap.
CREATE UNIQUE INDEX api_keys_one_bootstrap ON api_keys (name) WHERE name = 'bootstrap-admin';
