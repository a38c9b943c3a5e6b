-- Courses and enrolments as delegation last published them (`reporting.course`,
-- `reporting.enrolments`): what progress and completion reports list. A deleted course stays
-- as removed, so an older event applied late cannot bring it back. Rows change only for an
-- event at least as new (delegation's outbox sequence).
CREATE TABLE projected_courses (
    tenant_id UUID     NOT NULL,
    course_id TEXT     NOT NULL,
    title     TEXT     NOT NULL,
    unit_id   TEXT     NOT NULL,
    status    SMALLINT NOT NULL,
    removed   BOOLEAN  NOT NULL,
    sequence  BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, course_id)
);

-- Times are seconds since the epoch; NULL when it has not happened.
CREATE TABLE projected_enrolments (
    tenant_id    UUID     NOT NULL,
    enrolment_id TEXT     NOT NULL,
    course_id    TEXT     NOT NULL,
    user_id      TEXT     NOT NULL,
    state        SMALLINT NOT NULL,
    enrolled_at  BIGINT,
    started_at   BIGINT,
    completed_at BIGINT,
    withdrawn_at BIGINT,
    score        REAL,
    sequence     BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, enrolment_id)
);

CREATE INDEX projected_enrolments_by_course ON projected_enrolments (tenant_id, course_id, state);
CREATE INDEX projected_enrolments_by_user ON projected_enrolments (tenant_id, user_id);
