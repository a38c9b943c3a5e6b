-- Who holds which role; see the PostgreSQL migration.
CREATE TABLE projected_role_holders (
    tenant_id TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    sequence  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE projected_role_assignments (
    tenant_id     TEXT    NOT NULL,
    assignment_id TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    role_id       TEXT    NOT NULL,
    unit_id       TEXT    NOT NULL,
    valid_from    INTEGER,
    valid_until   INTEGER,
    source        INTEGER NOT NULL,
    main_role     INTEGER NOT NULL,
    sequence      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, assignment_id)
);

CREATE INDEX projected_role_assignments_by_user ON projected_role_assignments (tenant_id, user_id);
CREATE INDEX projected_role_assignments_by_role ON projected_role_assignments (tenant_id, role_id);
