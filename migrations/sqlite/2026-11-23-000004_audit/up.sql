-- What each entry is about, so auditors can search by article and by source.
ALTER TABLE ledger_entries ADD COLUMN article TEXT;
ALTER TABLE ledger_entries ADD COLUMN source TEXT;

-- Entries written before these columns: fill them from the leaves, with the
-- append-only guard lifted for this one statement.
DROP TRIGGER ledger_entries_append_only_update;
UPDATE ledger_entries SET
    article = CASE
        WHEN kind LIKE 'article.%' THEN json_extract(leaf, '$.record.slug')
        WHEN kind LIKE 'citation.%' THEN json_extract(leaf, '$.record.article')
    END,
    source = CASE
        WHEN kind LIKE 'source.%' THEN json_extract(leaf, '$.record.id')
        WHEN kind LIKE 'citation.%' THEN json_extract(leaf, '$.record.source_id')
    END;
CREATE TRIGGER ledger_entries_append_only_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE INDEX ledger_entries_by_kind ON ledger_entries (kind, idx);
CREATE INDEX ledger_entries_by_actor ON ledger_entries (actor, idx);
CREATE INDEX ledger_entries_by_article ON ledger_entries (article, idx);
CREATE INDEX ledger_entries_by_source ON ledger_entries (source, idx);
CREATE INDEX ledger_entries_by_time ON ledger_entries (at);
