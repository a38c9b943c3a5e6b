-- Service accounts belong to the platform or to one tenant (its integrations, issue 15). A tenant
-- account names its tenant and, when a person of the tenant created it, that person: its holder,
-- whose rights bound what its tokens do. Names are unique within a tenant and among platform
-- accounts, no longer across the platform. Existing accounts stay platform accounts.
ALTER TABLE service_accounts ADD COLUMN tenant_id UUID;
ALTER TABLE service_accounts ADD COLUMN holder_user_id UUID;
ALTER TABLE service_accounts DROP CONSTRAINT service_accounts_name_key;
CREATE UNIQUE INDEX service_accounts_platform_name ON service_accounts (name)
    WHERE tenant_id IS NULL;
CREATE UNIQUE INDEX service_accounts_tenant_name ON service_accounts (tenant_id, name)
    WHERE tenant_id IS NOT NULL;
