-- article_topics is only ever reached by its key: store it clustered on
-- (slug, topic_id), one B-tree fewer to write.
CREATE TABLE article_topics_new (
    slug          TEXT NOT NULL REFERENCES articles (slug) ON DELETE CASCADE,
    topic_id      TEXT NOT NULL,
    label         TEXT NOT NULL,
    first_seen_ts INTEGER NOT NULL,
    PRIMARY KEY (slug, topic_id)
) WITHOUT ROWID;

INSERT INTO article_topics_new SELECT slug, topic_id, label, first_seen_ts FROM article_topics;
DROP TABLE article_topics;
ALTER TABLE article_topics_new RENAME TO article_topics;
CREATE INDEX article_topics_by_topic ON article_topics (topic_id, first_seen_ts);
