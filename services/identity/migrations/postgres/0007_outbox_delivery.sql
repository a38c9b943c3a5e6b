-- The relay (lms_runtime::outbox) keeps the token authorization answered for each delivered
-- event, so a request can answer it even when another replica delivered its event, reads a
-- tenant's rows by sequence, and sets aside what authorization refuses for good.
ALTER TABLE outbox ADD COLUMN written_at TEXT;
-- Failures that are neither a refusal nor an outage (authorization answering INTERNAL, say):
-- counted, so an event that keeps failing is set aside instead of holding its tenant forever.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE INDEX outbox_by_tenant ON outbox (tenant_id, sequence);

CREATE TABLE outbox_dead_letters (
    sequence   BIGINT      PRIMARY KEY,
    event_id   UUID        NOT NULL,
    tenant_id  UUID        NOT NULL,
    topic      TEXT        NOT NULL,
    payload    BYTEA       NOT NULL,
    reason     TEXT        NOT NULL,
    dead_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX outbox_dead_letters_by_tenant ON outbox_dead_letters (tenant_id, sequence);
