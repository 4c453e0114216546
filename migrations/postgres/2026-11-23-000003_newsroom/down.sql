DROP TABLE citations;
DROP TABLE sources;
DROP TABLE articles;
DROP TABLE subscribers;
