-- Digest runs and their outbox. A run is one fire of one [[digest]]
-- schedule: (schedule, fire_ts) is unique, so firing the same time again,
-- after a restart or from a second process, finds the run and adds nothing.
CREATE TABLE digest_runs (
    id          INTEGER PRIMARY KEY,
    schedule    TEXT NOT NULL,
    fire_ts     INTEGER NOT NULL,              -- the fire time acted on, Unix seconds
    since_ts    INTEGER NOT NULL,              -- one period back: a first digest's window
    frequency   TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    state       TEXT NOT NULL CHECK (state IN ('delivering', 'done')),
    created_ts  INTEGER NOT NULL,
    finished_ts INTEGER,
    subject     TEXT NOT NULL,                 -- of the browser copy
    web_html    TEXT NOT NULL,                 -- the browser copy: no personal data
    UNIQUE (schedule, fire_ts)
);

-- One row per (run, subscriber). pending -> sending -> sent | failed | skipped;
-- a temporary failure puts the row back to pending with a later next_ts.
CREATE TABLE digest_outbox (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    since_ts      INTEGER NOT NULL,            -- articles changed after this go in
    state         TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ts       INTEGER NOT NULL,
    claimed_ts    INTEGER,
    done_ts       INTEGER,
    last_error    TEXT,
    UNIQUE (run_id, subscriber_id)
);

CREATE INDEX digest_outbox_due ON digest_outbox (run_id, state, next_ts);
CREATE INDEX digest_outbox_by_subscriber ON digest_outbox (subscriber_id, state, run_id);
CREATE INDEX digest_runs_by_state ON digest_runs (state, schedule);
