-- Subscribers, the tokens in their links (stored only as SHA-256 hashes),
-- and the queue of mails not yet handed to the transport.
CREATE TABLE subscribers (
    id               INTEGER PRIMARY KEY,
    email            TEXT NOT NULL,              -- as given: trimmed, domain lower-cased
    email_key        TEXT NOT NULL UNIQUE,       -- lower-cased: one subscription per mailbox
    status           TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')),
    topics           TEXT NOT NULL DEFAULT '[]', -- JSON array of topic ids; empty = every topic
    frequency        TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    created_ts       INTEGER NOT NULL,
    consent_ts       INTEGER NOT NULL,
    consent_source   TEXT NOT NULL,
    consent_client   TEXT,
    confirmed_ts     INTEGER,
    confirmed_client TEXT,
    unsubscribed_ts  INTEGER,
    bounce_count     INTEGER NOT NULL DEFAULT 0,
    last_notice_ts   INTEGER,                    -- last confirmation or notice mail: a resend limit
    updated_ts       INTEGER NOT NULL
);

CREATE INDEX subscribers_by_status ON subscribers (status, id);

CREATE TABLE subscriber_tokens (
    token_hash    TEXT PRIMARY KEY NOT NULL,     -- hex SHA-256 of the token in the link
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL CHECK (purpose IN ('confirm', 'manage')),
    created_ts    INTEGER NOT NULL,
    expires_ts    INTEGER                        -- NULL: does not expire
) WITHOUT ROWID;

CREATE INDEX subscriber_tokens_by_subscriber ON subscriber_tokens (subscriber_id, purpose);

CREATE TABLE mail_queue (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,                 -- 'confirm', 'welcome', 'notice'
    message       TEXT NOT NULL,                 -- JSON: the rendered OutgoingMail
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ts       INTEGER NOT NULL,
    created_ts    INTEGER NOT NULL,
    last_error    TEXT
);

CREATE INDEX mail_queue_due ON mail_queue (next_ts);
