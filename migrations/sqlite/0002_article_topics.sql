-- What each article is about, and when each topic first appeared in it
-- (its publication, or the update that added the topic): trending counts
-- each topic once per article at that time.
CREATE TABLE article_topics (
    slug          TEXT NOT NULL REFERENCES articles (slug) ON DELETE CASCADE,
    topic_id      TEXT NOT NULL,
    label         TEXT NOT NULL,
    first_seen_ts INTEGER NOT NULL,
    PRIMARY KEY (slug, topic_id)
);

CREATE INDEX article_topics_by_topic ON article_topics (topic_id, first_seen_ts);
