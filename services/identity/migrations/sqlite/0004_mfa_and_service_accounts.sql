-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- TOTP second factor: the confirmed secret, an enrolment waiting for its first code, and the
-- last step accepted (a code is accepted once).
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_pending_secret BLOB;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Sign-ins waiting for their second factor, by SHA-256 of the challenge handed out.
CREATE TABLE mfa_challenges (
    challenge_hash BLOB   PRIMARY KEY,
    tenant_id      BLOB    NOT NULL,
    user_id        BLOB    NOT NULL,
    expires_at     BIGINT  NOT NULL,
    failures       INTEGER NOT NULL DEFAULT 0
);

-- Platform service accounts (client credentials) for service-to-service calls.
CREATE TABLE service_accounts (
    service_account_id BLOB    PRIMARY KEY,
    name               TEXT   NOT NULL UNIQUE,
    secret_hash        BLOB  NOT NULL,
    created_by         TEXT   NOT NULL,
    created_at         BIGINT NOT NULL
);
