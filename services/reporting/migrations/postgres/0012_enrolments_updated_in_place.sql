-- Progress moves an enrolment's state, times and score, never its course or learner: with no
-- index on what changes, and room left on each page, PostgreSQL updates such a row in place
-- (a heap-only tuple) instead of adding an entry to every index of a table of millions.
DROP INDEX projected_enrolments_by_course;
CREATE INDEX projected_enrolments_by_course ON projected_enrolments (tenant_id, course_id);
ALTER TABLE projected_enrolments SET (fillfactor = 85);
