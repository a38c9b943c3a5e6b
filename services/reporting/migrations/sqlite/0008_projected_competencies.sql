-- Competency checks signed off; see the PostgreSQL migration.
CREATE TABLE projected_competencies (
    tenant_id     TEXT    NOT NULL,
    check_id      TEXT    NOT NULL,
    course_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    signed_off_by TEXT    NOT NULL,
    signed_off_at INTEGER NOT NULL,
    note          TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, check_id)
);

CREATE INDEX projected_competencies_by_course ON projected_competencies (tenant_id, course_id);
CREATE INDEX projected_competencies_by_user ON projected_competencies (tenant_id, user_id);
