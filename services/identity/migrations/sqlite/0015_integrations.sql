-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Tenants' integrations (issue 15, reviews L5 and L7).
--
-- Whether a tenant account's holder set its current secret in a session that proved a second
-- factor: its tokens then act as such a session of the holder's would, otherwise as a
-- password-only one, so an integration is never a way around the tenant requiring MFA. Secrets
-- set before this was recorded count as set without one (the holder rotates to lift it).
ALTER TABLE service_accounts ADD COLUMN secret_second_factor BOOLEAN NOT NULL DEFAULT FALSE;
-- An integration's changes name the integration (`actor_service`, as `integration:<name>`) and
-- the holder it acted for (`actor_user_id`), so the trail holds both for one record; at least
-- one actor is still named. SQLite cannot change a CHECK constraint, so the table is rebuilt
-- (keeping every record's sequence).
CREATE TABLE audit_records_with_integrations (
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
    CHECK (actor_user_id IS NOT NULL OR actor_service IS NOT NULL)
);
INSERT INTO audit_records_with_integrations (sequence, tenant_id, at, actor_user_id,
    actor_session_id, actor_service, action, object_type, object_id, before_json, after_json)
SELECT sequence, tenant_id, at, actor_user_id, actor_session_id, actor_service, action,
    object_type, object_id, before_json, after_json
FROM audit_records;
DROP TABLE audit_records;
ALTER TABLE audit_records_with_integrations RENAME TO audit_records;
CREATE INDEX audit_records_by_object ON audit_records (tenant_id, object_type, object_id, sequence);
CREATE INDEX audit_records_by_actor ON audit_records (tenant_id, actor_user_id, sequence);
