-- The salient phrases of each article that no vocabulary knows, as JSON
-- [{"text", "mentions"}]: what emerging candidates are counted from.
-- Ingest fills it (every article is read again once after this migration,
-- as its render key changes).
ALTER TABLE articles ADD COLUMN phrases TEXT NOT NULL DEFAULT '[]';
