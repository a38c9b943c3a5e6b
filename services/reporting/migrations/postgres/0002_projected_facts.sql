-- The relationship graph as its owners published it (their authorization facts events on the
-- event backbone): teams, units, groups, tutored and administered courses, enrolments and
-- bookings, what reports are scoped by. A deleted relationship stays as a row that is not
-- present, and a row changes only for an event newer than the last that changed it (by the
-- owning service's outbox sequence), so an older event that another reporting replica applies
-- late cannot bring back what was since deleted or changed.
CREATE TABLE projected_facts (
    tenant_id       UUID     NOT NULL,
    resource_type   SMALLINT NOT NULL,
    resource_id     TEXT     NOT NULL,
    -- Another tenant's object (a client's, a master's); empty for the tenant's own.
    resource_tenant TEXT     NOT NULL,
    relation        SMALLINT NOT NULL,
    subject_type    SMALLINT NOT NULL,
    subject_id      TEXT     NOT NULL,
    subject_tenant  TEXT     NOT NULL,
    -- Seconds since the epoch; NULL when open.
    valid_from      BIGINT,
    valid_until     BIGINT,
    present         BOOLEAN  NOT NULL,
    service         TEXT     NOT NULL,
    sequence        BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, resource_id, resource_tenant, relation,
                 subject_type, subject_id, subject_tenant)
);

CREATE INDEX projected_facts_by_subject ON projected_facts (tenant_id, subject_type, subject_id);

-- People's status as their owner published it, under the same rule.
CREATE TABLE projected_statuses (
    tenant_id         UUID     NOT NULL,
    user_id           TEXT     NOT NULL,
    status            SMALLINT NOT NULL,
    restrict_bookings BOOLEAN  NOT NULL,
    service           TEXT     NOT NULL,
    sequence          BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
