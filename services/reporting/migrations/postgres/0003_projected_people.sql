-- People as identity last published them (`reporting.people` events): what reports show of a
-- person. An anonymised person's row keeps no name or e-mail (identity sends none, and none is
-- kept for one), and stays, so their enrolments and completions still count. A deleted person
-- stays as removed, so an older event applied late cannot bring them back. A row changes only
-- for an event at least as new.
CREATE TABLE projected_people (
    tenant_id        UUID     NOT NULL,
    user_id          TEXT     NOT NULL,
    given_name       TEXT     NOT NULL,
    family_name      TEXT     NOT NULL,
    email            TEXT     NOT NULL,
    status           SMALLINT NOT NULL,
    primary_group_id TEXT     NOT NULL,
    external_id      TEXT     NOT NULL,
    removed          BOOLEAN  NOT NULL,
    sequence         BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE INDEX projected_people_by_group ON projected_people (tenant_id, primary_group_id);
