DROP TABLE member_deletions;
DROP INDEX webhook_deliveries_received;
DROP TABLE webhook_deliveries;
