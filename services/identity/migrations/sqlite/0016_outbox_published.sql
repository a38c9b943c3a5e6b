-- The event backbone; see the PostgreSQL migration.
ALTER TABLE outbox ADD COLUMN published_at TEXT;

CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;
