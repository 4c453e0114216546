DROP TABLE leases;
DROP INDEX link_checks_due;
DROP TABLE link_checks;
