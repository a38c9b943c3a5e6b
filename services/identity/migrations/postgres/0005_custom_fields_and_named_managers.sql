-- Tenant-defined user fields (values live in users.custom_fields as a JSON object).
CREATE TABLE custom_fields (
    tenant_id UUID    NOT NULL,
    key       TEXT    NOT NULL,
    label     TEXT    NOT NULL,
    mandatory BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- People named to manage, or to receive updates about, a user, an account or an account group.
CREATE TABLE named_managers (
    tenant_id   UUID     NOT NULL,
    user_id     UUID     NOT NULL,
    target_type SMALLINT NOT NULL,
    target_id   UUID     NOT NULL,
    purpose     SMALLINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, target_type, target_id, purpose)
);
CREATE INDEX named_managers_target ON named_managers (tenant_id, target_type, target_id);
