-- The order in which articles were first stored, for the feeds' archive
-- pages (RFC 5005): a page holds a fixed run of this order, so new
-- articles only ever add to its end and a full page never changes its
-- members. Ingest gives each new slug the next numbers, in publication
-- order within one ingest; an article that is edited, withdrawn or comes
-- back keeps its number. Existing articles are numbered by when they were
-- first seen, then publication, then slug (descending, as the feeds break
-- ties).
ALTER TABLE articles ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE articles SET seq = r.n
FROM (SELECT slug, ROW_NUMBER() OVER (ORDER BY first_seen_ts, published_ts, slug DESC) AS n
      FROM articles) AS r
WHERE r.slug = articles.slug;

-- A build reads every article's place and fingerprint columns in this
-- order; a covering index spares it the table's wide rows (the columns come
-- after the bodies).
CREATE INDEX articles_by_seq ON articles (seq, slug, status, content_hash, updated_ts);
