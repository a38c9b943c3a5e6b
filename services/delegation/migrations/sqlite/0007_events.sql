-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Events (dated sessions of a course), the bookings on them with the time of each transition,
-- and competency sign-offs. The states are the kernel's (lms_kernel::EventStatus: 1 scheduled,
-- 2 cancelled; BookingState: 1 requested, 2 booked, 3 declined, 4 waitlisted, 5 cancelled,
-- 6 attended, 7 partly attended, 8 no show).
CREATE TABLE events (
    tenant_id         BLOB     NOT NULL,
    event_id          BLOB     PRIMARY KEY,
    -- A course nobody ever enrolled on or booked onto is erased with its events.
    course_id         BLOB     NOT NULL REFERENCES courses (course_id) ON DELETE CASCADE,
    title             TEXT     NOT NULL,
    place             TEXT     NOT NULL DEFAULT '',
    starts_at         INTEGER   NOT NULL,
    ends_at           INTEGER   NOT NULL,
    -- Zero: unlimited.
    capacity          INTEGER  NOT NULL,
    requires_approval INTEGER  NOT NULL,
    -- A full event waitlists; without one it refuses further bookings.
    waitlist          INTEGER  NOT NULL DEFAULT 1,
    status            INTEGER  NOT NULL DEFAULT 1,
    -- The arrival number the next booking takes: the waitlist's order, given under the
    -- event's row lock, so two replicas never give the same one.
    next_arrival      INTEGER   NOT NULL DEFAULT 1,
    created_by        TEXT     NOT NULL,
    created_at        INTEGER   NOT NULL,
    cancelled_at      INTEGER
);
CREATE INDEX events_by_tenant ON events (tenant_id, starts_at, event_id);
CREATE INDEX events_by_course ON events (tenant_id, course_id, starts_at, event_id);

CREATE TABLE bookings (
    tenant_id      BLOB     NOT NULL,
    booking_id     BLOB     PRIMARY KEY,
    event_id       BLOB     NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    user_id        BLOB     NOT NULL,
    state          INTEGER  NOT NULL,
    booked_by      TEXT     NOT NULL,
    -- Order of arrival on the event (the waitlist's order).
    arrival        INTEGER   NOT NULL,
    requested_at   INTEGER,
    booked_at      INTEGER,
    declined_at    INTEGER,
    waitlisted_at  INTEGER,
    cancelled_at   INTEGER,
    attendance_at  INTEGER
);
-- The guard of "one current booking per person and event", also under concurrent booking.
CREATE UNIQUE INDEX bookings_one_current ON bookings (event_id, user_id)
    WHERE state NOT IN (3, 5);
CREATE INDEX bookings_by_event ON bookings (event_id, state, arrival);
CREATE INDEX bookings_by_user ON bookings (tenant_id, user_id, booking_id);

CREATE TABLE competency_checks (
    tenant_id     BLOB   NOT NULL,
    check_id      BLOB   PRIMARY KEY,
    course_id     BLOB   NOT NULL REFERENCES courses (course_id),
    user_id       BLOB   NOT NULL,
    note          TEXT   NOT NULL DEFAULT '',
    signed_off_by TEXT   NOT NULL,
    signed_off_at INTEGER NOT NULL,
    UNIQUE (course_id, user_id)
);
CREATE INDEX competency_checks_by_course ON competency_checks (tenant_id, course_id, check_id);
CREATE INDEX competency_checks_by_user ON competency_checks (tenant_id, user_id, check_id);
