-- Stream entries reporting could not apply, kept rather than lost; see the PostgreSQL migration.
CREATE TABLE skipped_entries (
    stream     TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    event_id   TEXT,
    tenant     TEXT,
    sequence   TEXT,
    topic      TEXT,
    payload    BLOB,
    mac        BLOB,
    skipped_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (stream, entry_id)
);
