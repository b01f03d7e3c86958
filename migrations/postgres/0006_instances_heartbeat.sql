-- Every process that delivers mail (the daemon, `digest send`) registers
-- here and renews its heartbeat every few seconds. A process whose
-- heartbeat stopped is declared dead (dead_ts) by whichever process looks
-- next, and the outbox rows it held go back to pending: at once for rows
-- it had claimed but not handed to the mail transport (started_ts NULL),
-- after a bounded grace for the few it had (see README, "Crash recovery").
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,             -- host:pid:nonce
    role         TEXT NOT NULL,                -- 'daemon' or 'digest send'
    process      TEXT,                         -- boot id, pid namespace, pid and start time (Linux)
    started_ts   BIGINT NOT NULL,
    heartbeat_ts BIGINT NOT NULL,
    dead_ts      BIGINT                        -- declared dead: it may claim or start nothing more
);

-- Who holds a `sending` row, and since when it is handed to the transport.
ALTER TABLE digest_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE digest_outbox ADD COLUMN started_ts BIGINT;
CREATE INDEX digest_outbox_by_holder ON digest_outbox (claimed_by, state);
