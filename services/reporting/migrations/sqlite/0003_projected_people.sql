-- People as identity last published them; see the PostgreSQL migration.
CREATE TABLE projected_people (
    tenant_id        TEXT    NOT NULL,
    user_id          TEXT    NOT NULL,
    given_name       TEXT    NOT NULL,
    family_name      TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    status           INTEGER NOT NULL,
    primary_group_id TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    removed          INTEGER NOT NULL,
    sequence         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE INDEX projected_people_by_group ON projected_people (tenant_id, primary_group_id);
