-- What `lms reporting rebuild` re-sent; see the PostgreSQL migration.
CREATE TABLE projection_rebuilds (
    tenant_id     TEXT    NOT NULL,
    service       TEXT    NOT NULL,
    topic         TEXT    NOT NULL,
    from_sequence INTEGER NOT NULL,
    rebuilt_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant_id, service, topic)
);

ALTER TABLE projected_competencies ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
