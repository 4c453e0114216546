-- Membership platforms (SPEC "Membership platforms"). The webhook secret is
-- sealed (ChaCha20-Poly1305 under the data dir's platform.key, bound to the
-- row's id), so a dump of the database alone does not reveal it.
CREATE TABLE platforms (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    -- The identity tokens' iss (and the platform the exchange picks); none for
    -- a Standard Webhooks sender.
    issuer TEXT UNIQUE,
    jwks_url TEXT,
    audience TEXT,
    email_claim TEXT,
    -- JSON object: the platform's member status -> free | member.
    tiers TEXT NOT NULL,
    webhook_secret BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- The platform that manages a subscriber, if any, and the platform's own time
-- of the last change applied, so that a late delivery never undoes a newer one.
ALTER TABLE subscribers ADD COLUMN platform_id TEXT;
ALTER TABLE subscribers ADD COLUMN platform_updated_at TEXT;
CREATE INDEX subscribers_platform_email ON subscribers (platform_id, email);
