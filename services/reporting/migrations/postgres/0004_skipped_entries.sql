-- Stream entries reporting could not apply, kept rather than lost: one without a valid MAC
-- (not written by its service, or written under another `redis.events_mac_key`), one whose
-- payload cannot be read, or one the store refused again and again. Each is acknowledged on the
-- stream once it is here, with every field as it was read, so it can be looked at and applied
-- again once the cause is fixed.
CREATE TABLE skipped_entries (
    stream     TEXT        NOT NULL,
    entry_id   TEXT        NOT NULL,
    reason     TEXT        NOT NULL,
    event_id   TEXT,
    tenant     TEXT,
    sequence   TEXT,
    topic      TEXT,
    payload    BYTEA,
    mac        BYTEA,
    skipped_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, entry_id)
);
