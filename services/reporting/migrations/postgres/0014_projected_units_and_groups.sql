-- Units and groups as identity last committed them (`reporting.directory`), so reports name a
-- person's unit and team. A removed one stays as removed, so an older record applied late
-- cannot bring it back; a rebuild sweeps both tables by sequence.
CREATE TABLE projected_units (
    tenant_id      UUID    NOT NULL,
    unit_id        TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    parent_unit_id TEXT    NOT NULL,
    removed        BOOLEAN NOT NULL,
    sequence       BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, unit_id)
);

CREATE TABLE projected_groups (
    tenant_id UUID    NOT NULL,
    group_id  TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    removed   BOOLEAN NOT NULL,
    sequence  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
