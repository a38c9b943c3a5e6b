-- Events of courses and their bookings as delegation last published them (`reporting.event`,
-- `reporting.bookings`): what attendance reports list. Times are seconds since the epoch. Rows
-- change only for an event at least as new (delegation's outbox sequence).
CREATE TABLE projected_events (
    tenant_id UUID     NOT NULL,
    event_id  TEXT     NOT NULL,
    course_id TEXT     NOT NULL,
    title     TEXT     NOT NULL,
    starts_at BIGINT   NOT NULL,
    ends_at   BIGINT   NOT NULL,
    status    SMALLINT NOT NULL,
    sequence  BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);

CREATE INDEX projected_events_by_course ON projected_events (tenant_id, course_id);

CREATE TABLE projected_bookings (
    tenant_id  UUID     NOT NULL,
    booking_id TEXT     NOT NULL,
    event_id   TEXT     NOT NULL,
    user_id    TEXT     NOT NULL,
    status     SMALLINT NOT NULL,
    arrival    BIGINT   NOT NULL,
    sequence   BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, booking_id)
);

CREATE INDEX projected_bookings_by_event ON projected_bookings (tenant_id, event_id, arrival);
CREATE INDEX projected_bookings_by_user ON projected_bookings (tenant_id, user_id);
