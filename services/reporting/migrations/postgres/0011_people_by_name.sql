-- Progress reports list learners by name: a page is read by walking people in that order and
-- stopping once it is full, instead of sorting every enrolment the caller may see (a tenant's
-- administrator sees millions).
CREATE INDEX projected_people_by_name
    ON projected_people (tenant_id, family_name, given_name, user_id) WHERE NOT removed;
