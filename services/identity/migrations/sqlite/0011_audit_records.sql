-- SQLite twin of the PostgreSQL migration.
-- Every change identity makes, written in the change's own transaction (see `src/audit.rs`):
-- who acted (a person with their sign-in session, or a service or operator by name), what they
-- did, to which object, and the object before and after as JSON holding ids and codes only.
-- No personal data lives here: once anonymisation erases a user's row, the ids in the trail
-- name nobody, so the trail is kept as it is.
CREATE TABLE audit_records (
    sequence         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL for platform-wide changes (service accounts).
    tenant_id        BLOB,
    at               BIGINT  NOT NULL,
    actor_user_id    BLOB,
    actor_session_id TEXT,
    actor_service    TEXT,
    action           TEXT    NOT NULL,
    object_type      TEXT    NOT NULL,
    object_id        TEXT    NOT NULL,
    before_json      TEXT,
    after_json       TEXT,
    -- Exactly one kind of actor.
    CHECK ((actor_user_id IS NULL) <> (actor_service IS NULL))
);
CREATE INDEX audit_records_by_object ON audit_records (tenant_id, object_type, object_id, sequence);
CREATE INDEX audit_records_by_actor ON audit_records (tenant_id, actor_user_id, sequence);
