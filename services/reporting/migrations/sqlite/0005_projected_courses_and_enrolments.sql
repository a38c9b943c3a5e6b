-- Courses and enrolments as delegation last published them; see the PostgreSQL migration.
CREATE TABLE projected_courses (
    tenant_id TEXT    NOT NULL,
    course_id TEXT    NOT NULL,
    title     TEXT    NOT NULL,
    unit_id   TEXT    NOT NULL,
    status    INTEGER NOT NULL,
    removed   INTEGER NOT NULL,
    sequence  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, course_id)
);

CREATE TABLE projected_enrolments (
    tenant_id    TEXT    NOT NULL,
    enrolment_id TEXT    NOT NULL,
    course_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    state        INTEGER NOT NULL,
    enrolled_at  INTEGER,
    started_at   INTEGER,
    completed_at INTEGER,
    withdrawn_at INTEGER,
    score        REAL,
    sequence     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, enrolment_id)
);

CREATE INDEX projected_enrolments_by_course ON projected_enrolments (tenant_id, course_id, state);
CREATE INDEX projected_enrolments_by_user ON projected_enrolments (tenant_id, user_id);
