-- People as identity last published them (`reporting.person` events): what reports show of a
-- person. An anonymised person's row keeps no name or e-mail (identity sends none), and stays,
-- so their enrolments and completions still count. A row changes only for a newer event.
CREATE TABLE projected_people (
    tenant_id        UUID     NOT NULL,
    user_id          TEXT     NOT NULL,
    given_name       TEXT     NOT NULL,
    family_name      TEXT     NOT NULL,
    email            TEXT     NOT NULL,
    status           SMALLINT NOT NULL,
    primary_group_id TEXT     NOT NULL,
    external_id      TEXT     NOT NULL,
    sequence         BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE INDEX projected_people_by_group ON projected_people (tenant_id, primary_group_id);
