-- Webhook deliveries already applied, by the platform's delivery id (Standard
-- Webhooks' webhook-id; for Ghost, which sends none, the SHA-256 of the body):
-- a replayed or retried delivery changes nothing. Rows older than the
-- signature window are pruned, as a replay that old is refused anyway.
CREATE TABLE webhook_deliveries (
    platform_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (platform_id, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);

-- Members a platform deleted, by the platform's member id only (no email), and
-- the platform's time of the deletion: a late delivery about that member from
-- before it is ignored instead of bringing the member back.
CREATE TABLE member_deletions (
    platform_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL,
    PRIMARY KEY (platform_id, external_id)
);
