-- Events are applied once; see the PostgreSQL migration.
CREATE TABLE applied_events (
    event_id   TEXT    PRIMARY KEY,
    revision   INTEGER NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
