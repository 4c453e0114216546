DROP TABLE capture_requests;
DROP TABLE quote_checks;
DROP TABLE proposals;
DROP INDEX sources_by_url;
DELETE FROM leases WHERE name = 'archive-follow-up';
