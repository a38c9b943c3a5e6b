-- Running totals of enrolments by course and state, kept in the same transaction as every
-- enrolment change, so the tenant summary reads one row per course and state instead of
-- counting millions of enrolments. Filled from the enrolments projected before it existed.
CREATE TABLE progress_totals (
    tenant_id UUID     NOT NULL,
    course_id TEXT     NOT NULL,
    state     SMALLINT NOT NULL,
    learners  BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, course_id, state)
);

INSERT INTO progress_totals (tenant_id, course_id, state, learners)
SELECT tenant_id, course_id, state, COUNT(*) FROM projected_enrolments
GROUP BY tenant_id, course_id, state;

-- Reports name an enrolment's course by its id alone: a course granted to a client tenant is
-- kept under the tenant that owns it.
CREATE INDEX projected_courses_by_id ON projected_courses (course_id);
