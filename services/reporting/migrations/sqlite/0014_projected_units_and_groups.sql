-- Units and groups; see the PostgreSQL migration.
CREATE TABLE projected_units (
    tenant_id      TEXT    NOT NULL,
    unit_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    parent_unit_id TEXT    NOT NULL,
    removed        INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, unit_id)
);

CREATE TABLE projected_groups (
    tenant_id TEXT    NOT NULL,
    group_id  TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    removed   INTEGER NOT NULL,
    sequence  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
