-- Service accounts hold scopes (what their tokens may do, security review M9) and can be
-- disabled. Their tokens carry the id of the secret they were issued against as `sid`, so
-- rotating the secret or disabling the account revokes every token issued before. Accounts made
-- before scopes existed get none: an operator makes them again with the scopes they need.
ALTER TABLE service_accounts ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE service_accounts ADD COLUMN secret_id UUID;
ALTER TABLE service_accounts ADD COLUMN secret_created_at BIGINT;
ALTER TABLE service_accounts ADD COLUMN disabled_at BIGINT;
UPDATE service_accounts SET secret_id = service_account_id, secret_created_at = created_at;
