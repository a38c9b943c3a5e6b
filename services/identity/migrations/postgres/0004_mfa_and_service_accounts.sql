-- TOTP second factor: the confirmed secret, an enrolment waiting for its first code, and the
-- last step accepted (a code is accepted once).
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_pending_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Sign-ins waiting for their second factor, by SHA-256 of the challenge handed out.
CREATE TABLE mfa_challenges (
    challenge_hash BYTEA   PRIMARY KEY,
    tenant_id      UUID    NOT NULL,
    user_id        UUID    NOT NULL,
    expires_at     BIGINT  NOT NULL,
    failures       INTEGER NOT NULL DEFAULT 0
);

-- Platform service accounts (client credentials) for service-to-service calls.
CREATE TABLE service_accounts (
    service_account_id UUID    PRIMARY KEY,
    name               TEXT   NOT NULL UNIQUE,
    secret_hash        BYTEA  NOT NULL,
    created_by         TEXT   NOT NULL,
    created_at         BIGINT NOT NULL
);
