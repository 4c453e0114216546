DELETE FROM leases WHERE name = 'notifications';
DROP TABLE notification_cursor;
DROP TABLE notification_deliveries;
DROP TABLE notification_subscriptions;
