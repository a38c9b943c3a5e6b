-- What `lms reporting rebuild` re-sent: per tenant, owning service and record topic, the outbox
-- sequence from which the owner sent every record it holds. A record event of that topic older
-- than it is dropped, not applied (a replica that read it before the rebuild and applies it
-- late cannot bring back what the rebuild found gone).
CREATE TABLE projection_rebuilds (
    tenant_id     UUID        NOT NULL,
    service       TEXT        NOT NULL,
    topic         TEXT        NOT NULL,
    from_sequence BIGINT      NOT NULL,
    rebuilt_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, service, topic)
);

-- Sign-offs carry their event's sequence too, so a rebuild can tell which it re-sent.
ALTER TABLE projected_competencies ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
