-- Events from identity and delegation are applied once: the event id is recorded in the same
-- transaction as the facts it changes, and a replay finds it here and changes nothing.
CREATE TABLE applied_events (
    event_id   UUID        PRIMARY KEY,
    revision   BIGINT      NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
