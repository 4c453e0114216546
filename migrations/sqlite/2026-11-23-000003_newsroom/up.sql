-- Newsletter subscribers: personal data, never in the ledger. Deleting one
-- removes the row, and with it every token minted for it.
CREATE TABLE subscribers (
    id TEXT PRIMARY KEY NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    email TEXT,
    tier TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Articles. `ledger_index` is the entry that recorded the current state.
CREATE TABLE articles (
    slug TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    language TEXT NOT NULL,
    authors TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ledger_index BIGINT NOT NULL
);

-- Every version of every source; a change is a new row, never an edit.
CREATE TABLE sources (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    publisher TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    published_at TEXT,
    accessed_at TEXT,
    snapshot_sha256 TEXT,
    archive_url TEXT,
    doi TEXT,
    record_sha256 TEXT NOT NULL,
    ledger_index BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

-- Citations: one row each, holding its current state; each state is a ledger entry.
CREATE TABLE citations (
    id TEXT PRIMARY KEY NOT NULL,
    article_slug TEXT NOT NULL REFERENCES articles (slug),
    source_id TEXT NOT NULL,
    source_version BIGINT NOT NULL,
    claim TEXT NOT NULL,
    quote TEXT,
    locator TEXT NOT NULL,
    note TEXT,
    status TEXT NOT NULL,
    attached_by TEXT NOT NULL,
    attached_by_key TEXT NOT NULL,
    attached_at TEXT NOT NULL,
    verified_by TEXT,
    verified_at TEXT,
    retracted_by TEXT,
    retracted_at TEXT,
    retraction_reason TEXT,
    ledger_index BIGINT NOT NULL,
    FOREIGN KEY (source_id, source_version) REFERENCES sources (id, version)
);
CREATE INDEX citations_by_article ON citations (article_slug, attached_at, id);
