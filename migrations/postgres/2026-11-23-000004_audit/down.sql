DROP INDEX ledger_entries_by_time;
DROP INDEX ledger_entries_by_source;
DROP INDEX ledger_entries_by_article;
DROP INDEX ledger_entries_by_actor;
DROP INDEX ledger_entries_by_kind;
ALTER TABLE ledger_entries DROP COLUMN source;
ALTER TABLE ledger_entries DROP COLUMN article;
