-- Enrolment requests as delegation last published them (`reporting.enrolment_request`): what
-- the enrolment request report lists. Times are seconds since the epoch. A row changes only for
-- an event at least as new (delegation's outbox sequence).
CREATE TABLE projected_enrolment_requests (
    tenant_id    UUID     NOT NULL,
    request_id   TEXT     NOT NULL,
    course_id    TEXT     NOT NULL,
    user_id      TEXT     NOT NULL,
    status       SMALLINT NOT NULL,
    requested_at BIGINT   NOT NULL,
    decided_at   BIGINT,
    sequence     BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);

CREATE INDEX projected_enrolment_requests_by_course
    ON projected_enrolment_requests (tenant_id, course_id, status);
CREATE INDEX projected_enrolment_requests_by_user ON projected_enrolment_requests (tenant_id, user_id);
