-- As migrations/sqlite/0008: the phrases of each article that no
-- vocabulary knows, as JSON {"salient": [{"text", "mentions"}], "seen":
-- "<base64 Bloom filter of every phrase it uses>"}, for emerging candidates.
ALTER TABLE articles ADD COLUMN phrases TEXT NOT NULL DEFAULT '{}';
