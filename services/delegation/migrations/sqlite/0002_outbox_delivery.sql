-- The relay's delivery bookkeeping; see the PostgreSQL migration.
ALTER TABLE outbox ADD COLUMN written_at TEXT;

CREATE INDEX outbox_by_tenant ON outbox (tenant_id, sequence);

CREATE TABLE outbox_dead_letters (
    sequence   INTEGER PRIMARY KEY,
    event_id   BLOB    NOT NULL,
    tenant_id  BLOB    NOT NULL,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    reason     TEXT    NOT NULL,
    dead_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX outbox_dead_letters_by_tenant ON outbox_dead_letters (tenant_id, sequence);
