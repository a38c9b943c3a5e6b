-- The transactional outbox (DESIGN.md §2); see the PostgreSQL migration for the design.
CREATE TABLE outbox (
    sequence     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL UNIQUE,
    tenant_id    TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    delivered_at TEXT
);

CREATE INDEX outbox_undelivered ON outbox (sequence) WHERE delivered_at IS NULL;
