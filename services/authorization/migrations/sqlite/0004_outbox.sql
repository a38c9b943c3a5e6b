-- The event backbone (DESIGN.md §7); see the PostgreSQL migration for the design.
CREATE TABLE outbox (
    sequence     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL UNIQUE,
    tenant_id    TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    delivered_at TEXT    DEFAULT CURRENT_TIMESTAMP,
    written_at   TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    published_at TEXT
);

CREATE INDEX outbox_by_tenant ON outbox (tenant_id, sequence);
CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;
