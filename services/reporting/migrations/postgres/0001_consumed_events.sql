-- Read models are built from the other services' events, consumed from a Redis stream with a
-- consumer group; an event id recorded here with its read-model change is never applied twice.
CREATE TABLE consumed_events (
    event_id    UUID        PRIMARY KEY,
    stream_id   TEXT        NOT NULL,
    consumed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
