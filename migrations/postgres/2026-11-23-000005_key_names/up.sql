-- Ledger entries name their actor `role:name`: one live key per role and name.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (role, name) WHERE revoked_at IS NULL;
