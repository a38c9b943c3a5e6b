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
    created_at BIGINT   NOT NULL
);
