-- What a feed build reads, from indexes alone:
-- - every article's place, fingerprint columns and publication time (the
--   subscription documents list a topic's newest published articles, taken
--   from its archive entries instead of a query per topic);
-- - a topic's label (the first in sort order), one index seek instead of a
--   scan of the topic's rows.
DROP INDEX articles_by_seq;
CREATE INDEX articles_by_seq ON articles (seq, slug, status, content_hash, updated_ts, published_ts);
CREATE INDEX article_topics_by_label ON article_topics (topic_id, label);
