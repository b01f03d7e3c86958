-- As migrations/sqlite/0008: the salient phrases of each article that no
-- vocabulary knows, as JSON [{"text", "mentions"}], for emerging candidates.
ALTER TABLE articles ADD COLUMN phrases TEXT NOT NULL DEFAULT '[]';
