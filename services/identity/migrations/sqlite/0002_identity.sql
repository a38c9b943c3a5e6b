-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs, booleans as integers).
-- Who a person is. Times are seconds since the Unix epoch (BIGINT), as in the other services.

CREATE TABLE tenants (
    tenant_id                  BLOB    PRIMARY KEY,
    name                       TEXT    NOT NULL,
    locations_enabled          INTEGER NOT NULL,
    clients_enabled            INTEGER NOT NULL,
    mfa_required_for_admins    INTEGER NOT NULL,
    master_tenant_id           BLOB,
    access_coordinator_user_id BLOB,
    created_by                 TEXT    NOT NULL,
    created_at                 BIGINT  NOT NULL
);

-- The unit tree: locations, accounts (the Guest account among them), account groups.
CREATE TABLE units (
    tenant_id      BLOB     NOT NULL,
    unit_id        BLOB     NOT NULL,
    kind           SMALLINT NOT NULL,
    name           TEXT     NOT NULL,
    parent_unit_id BLOB,
    external_id    TEXT,
    PRIMARY KEY (tenant_id, unit_id)
);
CREATE INDEX units_parent ON units (tenant_id, parent_unit_id);
CREATE UNIQUE INDEX units_external ON units (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- People. `email` is lower-case and NULL once anonymised; credentials and lockout live here so
-- that a sign-in reads one row.
CREATE TABLE users (
    tenant_id         BLOB     NOT NULL,
    user_id           BLOB     NOT NULL,
    email             TEXT,
    given_name        TEXT     NOT NULL,
    family_name       TEXT     NOT NULL,
    status            SMALLINT NOT NULL,
    account_kind      SMALLINT NOT NULL,
    primary_group_id  BLOB,
    restrict_bookings INTEGER  NOT NULL DEFAULT 0,
    custom_fields     TEXT     NOT NULL DEFAULT '{}',
    external_id       TEXT,
    password_hash     TEXT,
    failed_sign_ins   INTEGER  NOT NULL DEFAULT 0,
    locked_until      BIGINT,
    last_sign_in_at   BIGINT,
    created_by        TEXT     NOT NULL,
    created_at        BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE UNIQUE INDEX users_email ON users (tenant_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_external ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE employments (
    tenant_id     BLOB    NOT NULL,
    employment_id BLOB    NOT NULL,
    user_id       BLOB    NOT NULL,
    unit_id       BLOB    NOT NULL,
    starts_at     BIGINT  NOT NULL,
    ends_at       BIGINT,
    main_account  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, employment_id)
);
CREATE INDEX employments_user ON employments (tenant_id, user_id);
CREATE INDEX employments_unit ON employments (tenant_id, unit_id);

-- Ed25519 keys that sign access tokens; the newest signs, all are published until retired.
CREATE TABLE signing_keys (
    kid         TEXT   PRIMARY KEY,
    private_key BLOB  NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Refresh tokens, stored as SHA-256 hashes. A family is one sign-in session: each use retires
-- the token (`used_at`) and issues the next; presenting a retired token revokes the family.
CREATE TABLE refresh_tokens (
    token_hash BLOB  PRIMARY KEY,
    family_id  BLOB   NOT NULL,
    tenant_id  BLOB   NOT NULL,
    user_id    BLOB   NOT NULL,
    amr        TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE revoked_sessions (
    family_id  BLOB   PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    reason     TEXT   NOT NULL
);
