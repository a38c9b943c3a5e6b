-- Events are consumed once; see the PostgreSQL migration.
CREATE TABLE consumed_events (
    event_id    TEXT PRIMARY KEY,
    stream_id   TEXT NOT NULL,
    consumed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
