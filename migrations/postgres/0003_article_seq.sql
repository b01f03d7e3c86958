-- As migrations/sqlite/0009: the order in which articles were first
-- stored, for the feeds' archive pages; a full page never changes its
-- members. Existing articles are numbered by when they were first seen,
-- then publication, then slug (descending, as the feeds break ties).
ALTER TABLE articles ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

UPDATE articles SET seq = r.n
FROM (SELECT slug, ROW_NUMBER() OVER (ORDER BY first_seen_ts, published_ts, slug DESC) AS n
      FROM articles) AS r
WHERE r.slug = articles.slug;

CREATE INDEX articles_by_seq ON articles (seq, slug);
