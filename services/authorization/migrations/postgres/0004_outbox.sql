-- The event backbone (DESIGN.md §7): authorization's own changes that reporting projects (who
-- holds which role) are committed with an event in this outbox and published to authorization's
-- event stream (lms_runtime::outbox::Publisher). Nothing is delivered to another service, so a
-- row is delivered when written, and pruned once published.
CREATE TABLE outbox (
    sequence     BIGSERIAL PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE,
    tenant_id    UUID        NOT NULL,
    topic        TEXT        NOT NULL,
    payload      BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ DEFAULT now(),
    written_at   TEXT,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT,
    published_at TIMESTAMPTZ
);

CREATE INDEX outbox_by_tenant ON outbox (tenant_id, sequence);
CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;
