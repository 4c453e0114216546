DROP TABLE embargoed_entries;
