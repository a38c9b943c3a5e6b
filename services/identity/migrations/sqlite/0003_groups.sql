-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs).
-- Groups of users. A user's primary group (users.primary_group_id) is their team and its
-- manager their line manager; primary members are members too.

CREATE TABLE user_groups (
    tenant_id       BLOB   NOT NULL,
    group_id        BLOB   NOT NULL,
    name            TEXT   NOT NULL,
    manager_user_id BLOB,
    external_id     TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
CREATE UNIQUE INDEX groups_external ON user_groups (tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE group_members (
    tenant_id BLOB NOT NULL,
    group_id  BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (tenant_id, user_id);

CREATE TABLE group_administrators (
    tenant_id BLOB NOT NULL,
    group_id  BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id)
);
