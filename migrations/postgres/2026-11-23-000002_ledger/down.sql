DROP TABLE ledger_checkpoints;
DROP TABLE ledger_hashes;
DROP TABLE ledger_entries;
DROP TABLE ledger_head;
DROP FUNCTION ledger_refuse_change();
