-- Tenants' integrations (issue 15, reviews L5 and L7).
--
-- Whether a tenant account's holder set its current secret in a session that proved a second
-- factor: its tokens then act as such a session of the holder's would, otherwise as a
-- password-only one, so an integration is never a way around the tenant requiring MFA. Secrets
-- set before this was recorded count as set without one (the holder rotates to lift it).
ALTER TABLE service_accounts ADD COLUMN secret_second_factor BOOLEAN NOT NULL DEFAULT FALSE;
-- An integration's changes name the integration (`actor_service`, as `integration:<name>`) and
-- the holder it acted for (`actor_user_id`), so the trail holds both for one record; at least
-- one actor is still named.
ALTER TABLE audit_records DROP CONSTRAINT audit_records_check;
ALTER TABLE audit_records ADD CONSTRAINT audit_records_actor
    CHECK (actor_user_id IS NOT NULL OR actor_service IS NOT NULL);
