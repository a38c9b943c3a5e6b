-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs, booleans as integers).
-- The facts and definitions decisions read. Every write bumps the tenant's revision in the same
-- transaction; a consistency token names a (tenant, revision).

CREATE TABLE tenant_revisions (
    tenant_id BLOB   PRIMARY KEY,
    revision  BIGINT NOT NULL
);

-- Tenant settings as identity pushed them.
CREATE TABLE tenant_facts (
    tenant_id               BLOB    PRIMARY KEY,
    locations_enabled       INTEGER NOT NULL,
    clients_enabled         INTEGER NOT NULL,
    mfa_required_for_admins INTEGER NOT NULL
);

-- A user's status and booking restriction as identity pushed them. Users never pushed are active.
CREATE TABLE subject_statuses (
    tenant_id         BLOB     NOT NULL,
    user_id           BLOB     NOT NULL,
    status            SMALLINT NOT NULL,
    restrict_bookings INTEGER  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id)
);

-- Custom roles; built-in templates live in the kernel. Grants are `permission@reach` names, so
-- reordering the vocabulary never changes stored meaning.
CREATE TABLE roles (
    tenant_id        BLOB     NOT NULL,
    role_id          BLOB     NOT NULL,
    name             TEXT     NOT NULL,
    name_key         TEXT     NOT NULL,
    description      TEXT     NOT NULL,
    grants           TEXT     NOT NULL,
    responsibilities SMALLINT NOT NULL,
    copied_from      TEXT,
    version          BIGINT   NOT NULL,
    created_by       TEXT     NOT NULL,
    created_at       BIGINT   NOT NULL,
    updated_by       TEXT     NOT NULL,
    updated_at       BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, role_id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, name_key);

CREATE TABLE role_assignments (
    tenant_id     BLOB     NOT NULL,
    assignment_id BLOB     NOT NULL,
    user_id       BLOB     NOT NULL,
    role_id       TEXT     NOT NULL,
    unit_id       BLOB,
    valid_from    BIGINT,
    valid_until   BIGINT,
    source        SMALLINT NOT NULL,
    main_role     INTEGER  NOT NULL,
    assigned_by   TEXT     NOT NULL,
    assigned_at   BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, assignment_id)
);
CREATE INDEX role_assignments_by_user ON role_assignments (tenant_id, user_id);
CREATE INDEX role_assignments_by_role ON role_assignments (tenant_id, role_id, assignment_id);

-- Append-only: who changed which role or assignment, when, before and after.
CREATE TABLE audit_records (
    sequence    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   BLOB      NOT NULL,
    actor_id    TEXT      NOT NULL,
    at          BIGINT    NOT NULL,
    action      TEXT      NOT NULL,
    object_type SMALLINT  NOT NULL,
    object_id   TEXT      NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_records_by_object ON audit_records (tenant_id, object_type, object_id, sequence);

-- resource —relation→ subject, with an optional validity window (employments).
CREATE TABLE relationships (
    tenant_id     BLOB     NOT NULL,
    resource_type SMALLINT NOT NULL,
    resource_id   BLOB     NOT NULL,
    relation      SMALLINT NOT NULL,
    subject_type  SMALLINT NOT NULL,
    subject_id    BLOB     NOT NULL,
    valid_from    BIGINT,
    valid_until   BIGINT,
    PRIMARY KEY (tenant_id, resource_type, resource_id, relation, subject_type, subject_id)
);
CREATE INDEX relationships_by_subject ON relationships (tenant_id, subject_type, subject_id, relation);
-- One Course Tutor per course, whatever the concurrency (relation 8 = RELATION_COURSE_TUTOR).
CREATE UNIQUE INDEX relationships_one_course_tutor ON relationships (tenant_id, resource_id) WHERE relation = 8;
