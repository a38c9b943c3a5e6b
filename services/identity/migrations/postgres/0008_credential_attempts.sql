-- Attempts at a credential, counted per what the guesser names (see `lockout.rs`): the password
-- of a tenant and e-mail whether or not such a user exists, the second factor of a user. Each
-- check is reserved here before it runs (`in_flight`, in one conditional write that also keeps
-- failures plus checks in flight under the threshold) and settled after; a session issued
-- deletes the row. Keys are SHA-256 hashes, so no e-mail address is stored.
CREATE TABLE credential_attempts (
    attempt_key     BYTEA   PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    in_flight       INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    last_attempt_at BIGINT  NOT NULL
);
CREATE INDEX credential_attempts_by_age ON credential_attempts (last_attempt_at);

-- The lockout moved to credential_attempts.
ALTER TABLE users DROP COLUMN failed_sign_ins;
ALTER TABLE users DROP COLUMN locked_until;

-- Pruning and "one open challenge per user".
CREATE INDEX mfa_challenges_by_user ON mfa_challenges (tenant_id, user_id);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (tenant_id, user_id);
CREATE INDEX revoked_sessions_by_time ON revoked_sessions (revoked_at);
