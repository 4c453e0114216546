-- A citation may cite a sealed source (source_version 0, the id in
-- sealed_sources), which has no row in sources: the application checks what
-- is cited, under the log's write lock (sources and sealed sources are never
-- deleted). SQLite drops a foreign key by rebuilding the table (nothing
-- refers to citations).
CREATE TABLE citations_copy AS SELECT * FROM citations;
DROP TABLE citations;
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
    ledger_index BIGINT NOT NULL
);
INSERT INTO citations (id, article_slug, source_id, source_version, claim, quote, locator, note, status, attached_by, attached_by_key, attached_at, verified_by, verified_at, retracted_by, retracted_at, retraction_reason, ledger_index) SELECT id, article_slug, source_id, source_version, claim, quote, locator, note, status, attached_by, attached_by_key, attached_at, verified_by, verified_at, retracted_by, retracted_at, retraction_reason, ledger_index FROM citations_copy;
DROP TABLE citations_copy;
CREATE INDEX citations_by_article ON citations (article_slug, attached_at, id);
