ALTER TABLE citations ADD CONSTRAINT citations_source_id_source_version_fkey
    FOREIGN KEY (source_id, source_version) REFERENCES sources (id, version);
