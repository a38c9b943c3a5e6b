-- Enrolments by course, without their state; see the PostgreSQL migration.
DROP INDEX projected_enrolments_by_course;
CREATE INDEX projected_enrolments_by_course ON projected_enrolments (tenant_id, course_id);
