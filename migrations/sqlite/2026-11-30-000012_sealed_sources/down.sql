DROP TABLE sealed_sources;
