-- Ingest reads these columns of every article on every scan; a covering
-- index spares it the table's wide rows (the bodies).
CREATE INDEX articles_ingest_index
    ON articles (slug, source, status, content_hash, source_mtime_ns, source_size, render_key);
