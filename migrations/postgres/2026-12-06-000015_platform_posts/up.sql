-- Which membership platform post an article is: a Ghost post acts only on
-- the article linked to it. The link is made when a post whose URL is the
-- article's URL first publishes (or unpublishes) it; after that only that
-- post acts on the article, whatever its slug becomes.
CREATE TABLE platform_posts (
    platform_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    article_slug TEXT NOT NULL REFERENCES articles (slug),
    linked_at TEXT NOT NULL,
    PRIMARY KEY (platform_id, post_id)
);
CREATE UNIQUE INDEX platform_posts_by_article ON platform_posts (platform_id, article_slug);
