-- Events of courses and their bookings; see the PostgreSQL migration.
CREATE TABLE projected_events (
    tenant_id TEXT    NOT NULL,
    event_id  TEXT    NOT NULL,
    course_id TEXT    NOT NULL,
    title     TEXT    NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL,
    status    INTEGER NOT NULL,
    sequence  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);

CREATE INDEX projected_events_by_course ON projected_events (tenant_id, course_id);

CREATE TABLE projected_bookings (
    tenant_id  TEXT    NOT NULL,
    booking_id TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    arrival    INTEGER NOT NULL,
    sequence   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, booking_id)
);

CREATE INDEX projected_bookings_by_event ON projected_bookings (tenant_id, event_id, arrival);
CREATE INDEX projected_bookings_by_user ON projected_bookings (tenant_id, user_id);
