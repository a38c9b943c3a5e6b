-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Notifications, one row per recipient, written in the transaction of the change they report
-- and pending until acknowledged (crate::notices::NoticeKind numbers `kind`). `object_id` is
-- the booking, enrolment request or competency check.
CREATE TABLE notifications (
    tenant_id       BLOB    NOT NULL,
    notification_id BLOB    PRIMARY KEY,
    recipient_id    BLOB    NOT NULL,
    kind            INTEGER NOT NULL,
    learner_id      BLOB    NOT NULL,
    course_id       BLOB    NOT NULL,
    event_id        BLOB,
    object_id       BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER
);
CREATE INDEX notifications_pending ON notifications (tenant_id, recipient_id, notification_id)
    WHERE acknowledged_at IS NULL;
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, notification_id)
    WHERE acknowledged_at IS NULL;
