-- What each [[source]] poll leaves for the next, whichever instance makes
-- it: the WordPress cursor (the last modified_gmt seen), the feed's
-- validators for a conditional GET, when it last succeeded, and the
-- back-off after failures (or the wait a Retry-After asked for).
CREATE TABLE source_state (
    name            TEXT PRIMARY KEY NOT NULL,
    cursor          TEXT,
    etag            TEXT,
    last_modified   TEXT,
    last_attempt_ts INTEGER,
    last_success_ts INTEGER,
    last_listing_ts INTEGER,
    next_try_ts     INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) WITHOUT ROWID;
