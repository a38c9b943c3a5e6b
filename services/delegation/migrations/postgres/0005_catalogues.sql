-- Catalogues of courses, the courses in each and the people each is deployed to. A person is
-- offered a course (authorization's OFFERED fact) while any catalogue deployed to them holds it;
-- every catalogue write runs under one lock per tenant (a transaction advisory lock), so two
-- writes never decide what a person is still offered from each other's half-made state.
CREATE TABLE catalogues (
    tenant_id    UUID   NOT NULL,
    catalogue_id UUID   PRIMARY KEY,
    name         TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX catalogues_by_tenant ON catalogues (tenant_id, catalogue_id);

CREATE TABLE catalogue_courses (
    tenant_id    UUID   NOT NULL,
    catalogue_id UUID   NOT NULL REFERENCES catalogues (catalogue_id) ON DELETE CASCADE,
    -- An erased course leaves its catalogues in the transaction that erases it.
    course_id    UUID   NOT NULL REFERENCES courses (course_id),
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (catalogue_id, course_id)
);
CREATE INDEX catalogue_courses_by_course ON catalogue_courses (tenant_id, course_id);

CREATE TABLE catalogue_learners (
    tenant_id    UUID   NOT NULL,
    catalogue_id UUID   NOT NULL REFERENCES catalogues (catalogue_id) ON DELETE CASCADE,
    user_id      UUID   NOT NULL,
    deployed_by  TEXT   NOT NULL,
    deployed_at  BIGINT NOT NULL,
    PRIMARY KEY (catalogue_id, user_id)
);
CREATE INDEX catalogue_learners_by_user ON catalogue_learners (tenant_id, user_id);
