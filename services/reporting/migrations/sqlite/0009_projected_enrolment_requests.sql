-- Enrolment requests; see the PostgreSQL migration.
CREATE TABLE projected_enrolment_requests (
    tenant_id    TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    course_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    decided_at   INTEGER,
    sequence     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);

CREATE INDEX projected_enrolment_requests_by_course
    ON projected_enrolment_requests (tenant_id, course_id, status);
CREATE INDEX projected_enrolment_requests_by_user ON projected_enrolment_requests (tenant_id, user_id);
