-- Enrolments of learners on courses, learners' requests for courses that need approval, and the
-- content player's attempts. An enrolment keeps the time of each transition; a learner has at
-- most one open (enrolled or in progress) enrolment per course, and enrolling again after a
-- completion or withdrawal makes a new row beside the old one. The states are the kernel's
-- (lms_kernel::EnrolmentState: 1 enrolled, 2 in progress, 3 completed, 4 withdrawn;
-- RequestState: 1 requested, 2 approved, 3 rejected).
CREATE TABLE enrolments (
    tenant_id    UUID     NOT NULL,
    enrolment_id UUID     PRIMARY KEY,
    -- Enrolling marks the course ever enrolled, so it is archived, never erased, with these.
    course_id    UUID     NOT NULL REFERENCES courses (course_id),
    user_id      UUID     NOT NULL,
    state        SMALLINT NOT NULL,
    enrolled_by  TEXT     NOT NULL,
    enrolled_at  BIGINT   NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT,
    withdrawn_at BIGINT,
    score        DOUBLE PRECISION
);
-- The guard of "one open enrolment per learner and course", also under concurrent enrolment.
CREATE UNIQUE INDEX enrolments_one_open ON enrolments (course_id, user_id) WHERE state IN (1, 2);
CREATE INDEX enrolments_by_course ON enrolments (tenant_id, course_id, enrolment_id);
CREATE INDEX enrolments_by_user ON enrolments (tenant_id, user_id, enrolment_id);

CREATE TABLE enrolment_requests (
    tenant_id    UUID     NOT NULL,
    request_id   UUID     PRIMARY KEY,
    -- A course nobody ever enrolled on is erased with its requests.
    course_id    UUID     NOT NULL REFERENCES courses (course_id) ON DELETE CASCADE,
    user_id      UUID     NOT NULL,
    state        SMALLINT NOT NULL,
    requested_at BIGINT   NOT NULL,
    decided_at   BIGINT,
    decided_by   TEXT
);
-- One waiting request per learner and course: asking again answers the waiting one.
CREATE UNIQUE INDEX enrolment_requests_one_waiting ON enrolment_requests (course_id, user_id)
    WHERE state = 1;
CREATE INDEX enrolment_requests_by_course ON enrolment_requests (tenant_id, course_id, request_id);
CREATE INDEX enrolment_requests_by_user ON enrolment_requests (tenant_id, user_id, request_id);

-- The content player's attempts, by its own id: each bound to the enrolment it first reached,
-- so a report sent again is recognised and a late one never moves a newer enrolment.
-- `reported` is the furthest report seen (1 started, 2 completed).
CREATE TABLE progress_attempts (
    tenant_id    UUID     NOT NULL,
    attempt_id   TEXT     NOT NULL,
    enrolment_id UUID     NOT NULL REFERENCES enrolments (enrolment_id),
    reported     SMALLINT NOT NULL,
    first_at     BIGINT   NOT NULL,
    last_at      BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, attempt_id)
);
