-- Who holds which role, as authorization last committed it (`reporting.roles`): each holder's
-- record replaces all of their assignments, when newer than the one kept (the holder's row
-- keeps its sequence, also once they hold no role), so an older record applied late by another
-- replica changes nothing. A rebuild sweeps both tables by sequence.
CREATE TABLE projected_role_holders (
    tenant_id UUID   NOT NULL,
    user_id   TEXT   NOT NULL,
    sequence  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE projected_role_assignments (
    tenant_id     UUID     NOT NULL,
    assignment_id TEXT     NOT NULL,
    user_id       TEXT     NOT NULL,
    role_id       TEXT     NOT NULL,
    -- Empty: the whole tenant.
    unit_id       TEXT     NOT NULL,
    valid_from    BIGINT,
    valid_until   BIGINT,
    -- AssignmentSource.
    source        SMALLINT NOT NULL,
    main_role     BOOLEAN  NOT NULL,
    sequence      BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, assignment_id)
);

CREATE INDEX projected_role_assignments_by_user ON projected_role_assignments (tenant_id, user_id);
CREATE INDEX projected_role_assignments_by_role ON projected_role_assignments (tenant_id, role_id);
