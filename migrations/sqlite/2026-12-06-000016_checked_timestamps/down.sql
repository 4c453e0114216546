ALTER TABLE checkpoint_timestamps DROP COLUMN checked_cert_sha256;
