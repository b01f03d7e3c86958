-- Several instances on one store: the one holding a lease runs the jobs.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_ts INTEGER NOT NULL
) WITHOUT ROWID;

-- A counter bumped by every ingest that changes articles: instances that do
-- not ingest rebuild their feeds when it moves.
CREATE TABLE store_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);
