-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs; SQLite runs one writer at a time, which is its lock per tenant).
-- Catalogues of courses, the courses in each and the people each is deployed to. A person is
-- offered a course (authorization's OFFERED fact) while any catalogue deployed to them holds it;
-- every catalogue write runs under one lock per tenant (a transaction advisory lock), so two
-- writes never decide what a person is still offered from each other's half-made state.
CREATE TABLE catalogues (
    tenant_id    BLOB   NOT NULL,
    catalogue_id BLOB   PRIMARY KEY,
    name         TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX catalogues_by_tenant ON catalogues (tenant_id, catalogue_id);

CREATE TABLE catalogue_courses (
    tenant_id    BLOB   NOT NULL,
    catalogue_id BLOB   NOT NULL REFERENCES catalogues (catalogue_id) ON DELETE CASCADE,
    -- An erased course leaves its catalogues in the transaction that erases it.
    course_id    BLOB   NOT NULL REFERENCES courses (course_id),
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (catalogue_id, course_id)
);
CREATE INDEX catalogue_courses_by_course ON catalogue_courses (tenant_id, course_id);

CREATE TABLE catalogue_learners (
    tenant_id    BLOB   NOT NULL,
    catalogue_id BLOB   NOT NULL REFERENCES catalogues (catalogue_id) ON DELETE CASCADE,
    user_id      BLOB   NOT NULL,
    deployed_by  TEXT   NOT NULL,
    deployed_at  INTEGER NOT NULL,
    PRIMARY KEY (catalogue_id, user_id)
);
CREATE INDEX catalogue_learners_by_user ON catalogue_learners (tenant_id, user_id);
