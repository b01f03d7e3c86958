-- One index by topic instead of two: every query that looks topics up
-- (a topic's members, its label, counts per topic) needs only `topic_id`
-- first, and `article_topics_by_label` (topic_id, label) serves them all.
-- The other, (topic_id, first_seen_ts), no query used; each topic row paid
-- for its insertion.
DROP INDEX IF EXISTS article_topics_by_topic;
