-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Notices still to reach the learner's named managers, whom identity knows: written with the
-- notice in the change's transaction (so none is lost), taken by the fan-out, which copies the
-- notice to each named manager and deletes the row in one transaction.
CREATE TABLE notice_fan_out (
    tenant_id  BLOB    NOT NULL,
    fan_out_id BLOB    PRIMARY KEY,
    kind       INTEGER NOT NULL,
    learner_id BLOB    NOT NULL,
    course_id  BLOB    NOT NULL,
    event_id   BLOB,
    object_id  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    -- Failed rounds so far, and when to try again (identity refused or was down for the
    -- tenant): a tenant that keeps failing waits longer, and never holds up the others.
    attempts   INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notice_fan_out_due ON notice_fan_out (not_before, fan_out_id);
-- Whether a notice reached a person already (acknowledged or not).
CREATE INDEX notifications_by_object ON notifications (tenant_id, recipient_id, object_id);
