-- The relationship graph as its owners published it; see the PostgreSQL migration.
CREATE TABLE projected_facts (
    tenant_id       TEXT    NOT NULL,
    resource_type   INTEGER NOT NULL,
    resource_id     TEXT    NOT NULL,
    resource_tenant TEXT    NOT NULL,
    relation        INTEGER NOT NULL,
    subject_type    INTEGER NOT NULL,
    subject_id      TEXT    NOT NULL,
    subject_tenant  TEXT    NOT NULL,
    valid_from      INTEGER,
    valid_until     INTEGER,
    present         INTEGER NOT NULL,
    service         TEXT    NOT NULL,
    sequence        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, resource_id, resource_tenant, relation,
                 subject_type, subject_id, subject_tenant)
);

CREATE INDEX projected_facts_by_subject ON projected_facts (tenant_id, subject_type, subject_id);

CREATE TABLE projected_statuses (
    tenant_id         TEXT    NOT NULL,
    user_id           TEXT    NOT NULL,
    status            INTEGER NOT NULL,
    restrict_bookings INTEGER NOT NULL,
    service           TEXT    NOT NULL,
    sequence          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
