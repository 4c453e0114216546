-- Embargo: an entry about a story not yet published is appended as a
-- commitment (`embargo.committed`: its kind and SHA-256(salt || JCS({"actor",
-- "record"}))); what it commits to is kept here, on the server only, until
-- publication appends its disclosure (`embargo.disclosed`: the same, with the
-- salt). `idx` is the commitment entry; `record` the record's canonical JSON;
-- `article` and `source` what the entry is about, to find what a publication
-- must disclose.
CREATE TABLE embargoed_entries (
    idx BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    record TEXT NOT NULL,
    salt TEXT NOT NULL,
    article TEXT,
    source TEXT,
    disclosure_index BIGINT
);
-- What a publication looks for: an article's own commitments (its record,
-- its citations), and a cited source's own (its versions); each row is in
-- one of the two, until it is disclosed.
CREATE INDEX embargoed_by_article ON embargoed_entries (article)
    WHERE disclosure_index IS NULL AND article IS NOT NULL;
CREATE INDEX embargoed_by_source ON embargoed_entries (source)
    WHERE disclosure_index IS NULL AND article IS NULL;
