-- A citation may cite a sealed source (source_version 0, the id in
-- sealed_sources), which has no row in sources: the application checks what
-- is cited, under the log's write lock (sources and sealed sources are never
-- deleted).
ALTER TABLE citations DROP CONSTRAINT citations_source_id_source_version_fkey;
