DROP TABLE platform_posts;
