-- A topic's label (the first in sort order) in one index seek instead of a
-- scan of the topic's rows: a feed build asks for it per topic.
CREATE INDEX article_topics_by_label ON article_topics (topic_id, label);
