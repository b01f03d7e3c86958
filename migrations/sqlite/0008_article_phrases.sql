-- The phrases of each article that no vocabulary knows, as JSON:
-- {"salient": [{"text", "mentions"}], "seen": "<base64 Bloom filter of
-- every phrase it uses>"}. Emerging candidates count the salient ones in
-- the window against the seen ones in the baseline. Ingest fills it (every
-- article is read again once after this migration, as its render key
-- changes).
ALTER TABLE articles ADD COLUMN phrases TEXT NOT NULL DEFAULT '{}';

-- How prominently the article names a topic: 2 in its title, 1 in its
-- summary or a heading, 0 only in the body or the tags. Trending gives an
-- article that two stories share to the one it names most prominently.
ALTER TABLE article_topics ADD COLUMN prominence INTEGER NOT NULL DEFAULT 0;
