-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Service accounts belong to the platform or to one tenant (its integrations, issue 15). A tenant
-- account names its tenant and, when a person of the tenant created it, that person: its holder,
-- whose rights bound what its tokens do. Names are unique within a tenant and among platform
-- accounts, no longer across the platform. Existing accounts stay platform accounts.
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt without it.
CREATE TABLE service_accounts_by_owner (
    service_account_id BLOB   PRIMARY KEY,
    name               TEXT   NOT NULL,
    secret_hash        BLOB   NOT NULL,
    created_by         TEXT   NOT NULL,
    created_at         BIGINT NOT NULL,
    scopes             TEXT   NOT NULL DEFAULT '',
    secret_id          BLOB,
    secret_created_at  BIGINT,
    disabled_at        BIGINT,
    tenant_id          BLOB,
    holder_user_id     BLOB
);
INSERT INTO service_accounts_by_owner (service_account_id, name, secret_hash, created_by,
    created_at, scopes, secret_id, secret_created_at, disabled_at)
SELECT service_account_id, name, secret_hash, created_by, created_at, scopes, secret_id,
    secret_created_at, disabled_at
FROM service_accounts;
DROP TABLE service_accounts;
ALTER TABLE service_accounts_by_owner RENAME TO service_accounts;
CREATE UNIQUE INDEX service_accounts_platform_name ON service_accounts (name)
    WHERE tenant_id IS NULL;
CREATE UNIQUE INDEX service_accounts_tenant_name ON service_accounts (tenant_id, name)
    WHERE tenant_id IS NOT NULL;
