-- As migrations/sqlite/0008: the phrases of each article that no
-- vocabulary knows, as JSON {"salient": [{"text", "mentions"}], "seen":
-- "<base64 Bloom filter of every phrase it uses>"}, for emerging candidates.
ALTER TABLE articles ADD COLUMN phrases TEXT NOT NULL DEFAULT '{}';

-- As migrations/sqlite/0008: how prominently the article names a topic (2
-- title, 1 summary or heading, 0 body or tags).
ALTER TABLE article_topics ADD COLUMN prominence BIGINT NOT NULL DEFAULT 0;
