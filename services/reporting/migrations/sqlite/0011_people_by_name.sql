-- People by name; see the PostgreSQL migration.
CREATE INDEX projected_people_by_name
    ON projected_people (tenant_id, family_name, given_name, user_id) WHERE NOT removed;
