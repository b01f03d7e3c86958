-- As migrations/sqlite/0010: what each [[source]] poll leaves for the
-- next, whichever instance makes it (cursor, validators, last success,
-- back-off).
CREATE TABLE source_state (
    name            TEXT PRIMARY KEY,
    cursor          TEXT,
    etag            TEXT,
    last_modified   TEXT,
    last_attempt_ts BIGINT,
    last_success_ts BIGINT,
    last_listing_ts BIGINT,
    next_try_ts     BIGINT,
    failures        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT
);
