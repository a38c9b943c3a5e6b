-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- A master tenant's courses granted to its client tenants (DESIGN §6), each for a window. The
-- master's record; the fact authorization reads is in the client tenant's facts.
CREATE TABLE content_grants (
    -- The master.
    tenant_id        BLOB    NOT NULL,
    grant_id         BLOB    PRIMARY KEY,
    client_tenant_id BLOB    NOT NULL,
    -- A granted course is archived, never erased, while granted (delegation refuses).
    course_id        BLOB    NOT NULL REFERENCES courses (course_id),
    valid_from       INTEGER,
    valid_until      INTEGER,
    granted_by       TEXT    NOT NULL,
    granted_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- One grant of a course to a client; what the client's people may take.
CREATE UNIQUE INDEX content_grants_one ON content_grants (client_tenant_id, course_id);
CREATE INDEX content_grants_by_master ON content_grants (tenant_id, grant_id);
