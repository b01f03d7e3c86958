-- Trending reads only the articles its report can count: those published
-- or updated in its window and baseline (about ten weeks). The query names
-- the same expression, GREATEST(published_ts, updated_ts), so that the
-- planner can find them through this index.
CREATE INDEX articles_by_latest ON articles (status, GREATEST(published_ts, updated_ts));

-- When each topic was first given to an article, kept as topic rows are
-- written, so that a report need not read all history for the week each
-- entry first appeared. An article withdrawn later does not undo it.
CREATE TABLE topic_firsts (
    topic_id      TEXT PRIMARY KEY,
    first_seen_ts BIGINT NOT NULL
);

INSERT INTO topic_firsts (topic_id, first_seen_ts)
    SELECT topic_id, MIN(first_seen_ts) FROM article_topics GROUP BY topic_id;
