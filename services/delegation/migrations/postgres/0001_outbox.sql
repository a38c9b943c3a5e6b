-- The transactional outbox (DESIGN.md §2): a service commits its data and the event that
-- describes it in one transaction; a relay delivers undelivered rows to authorization and to
-- the Redis stream, and marks them delivered once acknowledged.
CREATE TABLE outbox (
    sequence     BIGSERIAL PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE,
    tenant_id    UUID        NOT NULL,
    topic        TEXT        NOT NULL,
    payload      BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ
);

CREATE INDEX outbox_undelivered ON outbox (sequence) WHERE delivered_at IS NULL;
