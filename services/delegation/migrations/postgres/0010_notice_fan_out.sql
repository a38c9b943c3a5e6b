-- Notices still to reach the learner's named managers, whom identity knows: written with the
-- notice in the change's transaction (so none is lost), taken by the fan-out, which copies the
-- notice to each named manager and deletes the row in one transaction.
CREATE TABLE notice_fan_out (
    tenant_id  UUID     NOT NULL,
    fan_out_id UUID     PRIMARY KEY,
    kind       SMALLINT NOT NULL,
    learner_id UUID     NOT NULL,
    course_id  UUID     NOT NULL,
    event_id   UUID,
    object_id  UUID     NOT NULL,
    created_at BIGINT   NOT NULL,
    -- Failed rounds so far, and when to try again (identity refused or was down for the
    -- tenant): a tenant that keeps failing waits longer, and never holds up the others.
    attempts   INTEGER  NOT NULL DEFAULT 0,
    not_before BIGINT   NOT NULL DEFAULT 0
);
CREATE INDEX notice_fan_out_due ON notice_fan_out (not_before, fan_out_id);
-- Whether a notice reached a person already (acknowledged or not).
CREATE INDEX notifications_by_object ON notifications (tenant_id, recipient_id, object_id);
