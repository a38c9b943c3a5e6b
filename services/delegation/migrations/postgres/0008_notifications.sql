-- Notifications, one row per recipient, written in the transaction of the change they report
-- and pending until acknowledged (crate::notices::NoticeKind numbers `kind`). `object_id` is
-- the booking, enrolment request or competency check.
CREATE TABLE notifications (
    tenant_id       UUID     NOT NULL,
    notification_id UUID     PRIMARY KEY,
    recipient_id    UUID     NOT NULL,
    kind            SMALLINT NOT NULL,
    learner_id      UUID     NOT NULL,
    course_id       UUID     NOT NULL,
    event_id        UUID,
    object_id       UUID     NOT NULL,
    created_at      BIGINT   NOT NULL,
    acknowledged_at BIGINT
);
CREATE INDEX notifications_pending ON notifications (tenant_id, recipient_id, notification_id)
    WHERE acknowledged_at IS NULL;
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, notification_id)
    WHERE acknowledged_at IS NULL;
