-- Competency checks signed off, as delegation published them (`reporting.competency`): what the
-- sign-off report lists. A check is signed off once and never changes.
CREATE TABLE projected_competencies (
    tenant_id     UUID   NOT NULL,
    check_id      TEXT   NOT NULL,
    course_id     TEXT   NOT NULL,
    user_id       TEXT   NOT NULL,
    signed_off_by TEXT   NOT NULL,
    signed_off_at BIGINT NOT NULL,
    note          TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, check_id)
);

CREATE INDEX projected_competencies_by_course ON projected_competencies (tenant_id, course_id);
CREATE INDEX projected_competencies_by_user ON projected_competencies (tenant_id, user_id);
