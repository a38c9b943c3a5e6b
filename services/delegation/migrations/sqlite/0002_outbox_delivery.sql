-- The relay's delivery bookkeeping; see the PostgreSQL migration.
ALTER TABLE outbox ADD COLUMN written_at TEXT;
-- Failures that are neither a refusal nor an outage (authorization answering INTERNAL, say):
-- counted, so an event that keeps failing is set aside instead of holding its tenant forever.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

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
