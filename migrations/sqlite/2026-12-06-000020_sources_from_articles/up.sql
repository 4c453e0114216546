-- Sources from the article itself.
--
-- `proposals`: the outbound links an article's text holds, proposed as
-- citations until a person accepts or drops each (one a URL). Working
-- state of the newsroom, not records: accepting one records its source and
-- citation in the ledger as any other; a drop is remembered so that the
-- next extraction (an edited Ghost post) does not propose the link again.
CREATE TABLE proposals (
    article_slug TEXT NOT NULL REFERENCES articles (slug),
    url TEXT NOT NULL,
    position INTEGER NOT NULL,
    anchor_text TEXT NOT NULL,
    claim TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'dropped')),
    origin TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    citation_id TEXT,
    PRIMARY KEY (article_slug, url)
);

-- A proposal names the source already recorded for its URL.
CREATE INDEX sources_by_url ON sources (url);

-- Where each citation's quote was found in its source's latest archived
-- copy (a W3C TextQuoteSelector), or that it was not: derived from the
-- archive, so anyone holding the copy can check it again.
CREATE TABLE quote_checks (
    citation_id TEXT PRIMARY KEY NOT NULL,
    snapshot_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('found', 'not_found', 'unreadable')),
    -- Where it was found: the selector's JSON ({"type", "exact", "prefix",
    -- "suffix"}), as the `citation.quote` entry records it.
    selector TEXT,
    checked_at TEXT NOT NULL,
    -- The `citation.quote` entry that records this finding (none for a
    -- copy with no text to search: nothing was found either way).
    ledger_index BIGINT
);

-- Captures that publishing asked for: a cited source with no archived copy
-- yet, waiting for its turn (`pending`), or given up on after its retries
-- (`failed`, shown in the desk's drift queue). Done ones are deleted.
CREATE TABLE capture_requests (
    source_id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    article_slug TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
    last_error TEXT
);
CREATE INDEX capture_requests_due ON capture_requests (state, next_attempt_at);
INSERT INTO leases (name, holder, expires_at) VALUES ('archive-follow-up', '', '1970-01-01T00:00:00.000000Z');
