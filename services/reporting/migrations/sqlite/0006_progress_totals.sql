-- Running totals of enrolments by course and state; see the PostgreSQL migration.
CREATE TABLE progress_totals (
    tenant_id TEXT    NOT NULL,
    course_id TEXT    NOT NULL,
    state     INTEGER NOT NULL,
    learners  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, course_id, state)
);

INSERT INTO progress_totals (tenant_id, course_id, state, learners)
SELECT tenant_id, course_id, state, COUNT(*) FROM projected_enrolments
GROUP BY tenant_id, course_id, state;

CREATE INDEX projected_courses_by_id ON projected_courses (course_id);
