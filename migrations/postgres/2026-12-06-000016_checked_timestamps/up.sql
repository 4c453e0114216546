-- A time stamp's stated time is shown only when its reply was checked against
-- the TSA's certificate (SOURCELEDGER_TSA_CERT): the SHA-256 of the
-- certificate it verified under; NULL for a token kept unchecked.
ALTER TABLE checkpoint_timestamps ADD COLUMN checked_cert_sha256 TEXT;
