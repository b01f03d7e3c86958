-- Trending reads only the articles its report can count: those published
-- or updated in its window and baseline (about ten weeks). The query names
-- the same expression, `max(published_ts, updated_ts)`, so that SQLite
-- finds them through this index; the index holds what the report shows of
-- each (slug, title, URL), so the rows, whose URL and phrases sit past the
-- article's HTML in overflow pages, are not read at all.
CREATE INDEX articles_by_latest
    ON articles (status, max(published_ts, updated_ts), slug, published_ts, title, url, phrases);

-- When each topic was first given to an article, kept as topic rows are
-- written, so that a report need not read all history for the week each
-- entry first appeared. An article withdrawn later does not undo it.
CREATE TABLE topic_firsts (
    topic_id      TEXT PRIMARY KEY NOT NULL,
    first_seen_ts INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO topic_firsts (topic_id, first_seen_ts)
    SELECT topic_id, MIN(first_seen_ts) FROM article_topics GROUP BY topic_id;
