-- Articles as last ingested. One row per slug, for ever: a withdrawn article
-- keeps its row (and its guid) so that it comes back with the same identity.
CREATE TABLE articles (
    slug            TEXT PRIMARY KEY NOT NULL,
    guid            TEXT NOT NULL UNIQUE,
    source          TEXT NOT NULL,          -- 'file:<path in content dir>' or 'api'
    status          TEXT NOT NULL CHECK (status IN ('published', 'withdrawn')),
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL,
    content_html    TEXT NOT NULL,
    author_name     TEXT NOT NULL,
    author_email    TEXT,
    reviewed_by     TEXT,
    tags            TEXT NOT NULL,          -- JSON array of strings
    category        TEXT,
    image           TEXT,
    url             TEXT NOT NULL,
    published_at    TEXT NOT NULL,          -- RFC 3339, with the article's own offset
    published_ts    INTEGER NOT NULL,       -- Unix seconds, for ordering
    source_updated  TEXT,                   -- `updated` as the source gave it
    updated_at      TEXT NOT NULL,          -- effective `updated`, RFC 3339
    updated_ts      INTEGER NOT NULL,
    content_hash    TEXT NOT NULL,
    first_seen_ts   INTEGER NOT NULL,
    withdrawn_ts    INTEGER,
    -- What the file looked like when last read: an unchanged file is not read again.
    source_mtime_ns INTEGER,
    source_size     INTEGER,
    render_key      TEXT
);

CREATE INDEX articles_by_date ON articles (status, published_ts DESC, slug);
CREATE INDEX articles_by_source ON articles (source);
