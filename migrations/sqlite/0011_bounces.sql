-- Bounces and complaints that come back after a message was accepted:
-- delivery status notifications (RFC 3464) and feedback reports (RFC 5965)
-- to the VERP envelope sender, and the providers' webhooks.
--
-- soft_bounce_count: temporary failures reported for good (a mailbox full,
-- a greylisting that never passed); past `bounces.soft_limit` each further
-- one counts as a hard bounce. status_reason and status_ts: why and when a
-- report made the subscriber bounced or unsubscribed (a complaint).
ALTER TABLE subscribers ADD COLUMN soft_bounce_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN status_reason TEXT;
ALTER TABLE subscribers ADD COLUMN status_ts INTEGER;

-- Every report acted on. dedupe is one report's identity (a run and
-- subscriber for reports to a VERP address, the provider's event id for
-- webhooks): the same report read twice counts once.
CREATE TABLE bounce_events (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    run_id        INTEGER,                     -- the digest run, when known
    kind          TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    status        TEXT,                        -- enhanced status code, e.g. 5.1.1
    reason        TEXT NOT NULL,
    source        TEXT NOT NULL,               -- smtp, maildir, webhook:<provider>
    received_ts   INTEGER NOT NULL,
    dedupe        TEXT UNIQUE
);

CREATE INDEX bounce_events_by_subscriber ON bounce_events (subscriber_id, received_ts);

-- The key that signs VERP tokens, made on first use and shared by every
-- instance on this store.
CREATE TABLE bounce_keys (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
