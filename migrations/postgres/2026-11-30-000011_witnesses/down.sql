DROP TABLE witness_refusals;
DROP TABLE witnessed_logs;
DROP TABLE witness_cosignatures;
