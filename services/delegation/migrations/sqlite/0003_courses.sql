-- SQLite twin of the PostgreSQL migration (UUIDs as 16-byte BLOBs, booleans as integers).
-- Courses, their ordered lessons, lesson assignments, the responsibilities on courses (and
-- later events), and the audit trail of every change delegation makes. Every row names its
-- tenant, and every read is by tenant, so one tenant's token never reaches another's courses.
CREATE TABLE courses (
    tenant_id         BLOB     NOT NULL,
    course_id         BLOB PRIMARY KEY,
    -- The owning unit (a location or account); NULL: the tenant owns it.
    unit_id           BLOB,
    title             TEXT     NOT NULL,
    description       TEXT     NOT NULL DEFAULT '',
    requires_approval INTEGER NOT NULL DEFAULT 0,
    -- 1 active, 2 archived (lms_kernel::CourseStatus).
    status            INTEGER NOT NULL DEFAULT 1,
    -- Someone enrolled once: deleting archives instead of erasing.
    ever_enrolled     INTEGER NOT NULL DEFAULT 0,
    created_by        TEXT     NOT NULL,
    created_at        INTEGER   NOT NULL,
    updated_at        INTEGER   NOT NULL
);
CREATE INDEX courses_by_tenant ON courses (tenant_id, course_id);

CREATE TABLE lessons (
    tenant_id  BLOB    NOT NULL,
    lesson_id  BLOB    PRIMARY KEY,
    course_id  BLOB    NOT NULL REFERENCES courses (course_id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    -- 1-based; renumbered in the transaction that inserts, moves or deletes a lesson.
    position   INTEGER NOT NULL,
    created_at INTEGER  NOT NULL
);
CREATE INDEX lessons_by_course ON lessons (tenant_id, course_id, position);

-- Who a lesson is assigned to: a user or a group (subject_type 3 user, 4 group, as
-- lms.common.v1.ObjectType numbers them).
CREATE TABLE lesson_assignments (
    tenant_id    BLOB     NOT NULL,
    lesson_id    BLOB     NOT NULL REFERENCES lessons (lesson_id) ON DELETE CASCADE,
    subject_type INTEGER NOT NULL,
    subject_id   BLOB     NOT NULL,
    assigned_at  INTEGER   NOT NULL,
    PRIMARY KEY (lesson_id, subject_type, subject_id)
);

-- Responsibilities on one course or event: kind 1 Course Tutor, 2 Course Administrator,
-- 3 Event Administrator (lms_kernel::Responsibility), each with an optional validity window
-- (Unix seconds, until exclusive). At most one Course Tutor at any moment is the kernel's
-- rule, checked under the course row's lock.
CREATE TABLE responsibilities (
    tenant_id   BLOB     NOT NULL,
    object_id   BLOB     NOT NULL,
    kind        INTEGER NOT NULL,
    user_id     BLOB     NOT NULL,
    valid_from  INTEGER,
    valid_until INTEGER,
    assigned_by TEXT     NOT NULL,
    assigned_at INTEGER   NOT NULL,
    PRIMARY KEY (object_id, kind, user_id)
);
CREATE INDEX responsibilities_by_user ON responsibilities (tenant_id, user_id);

-- Every change delegation makes, in the change's own transaction: who acted (a person with
-- their sign-in session, or a service by name), what, on which object, before and after as
-- JSON of ids, codes and flags (no titles or names).
CREATE TABLE audit_records (
    sequence         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        BLOB   NOT NULL,
    at               INTEGER NOT NULL,
    actor_user_id    BLOB,
    actor_session_id TEXT,
    actor_service    TEXT,
    action           TEXT   NOT NULL,
    object_type      TEXT   NOT NULL,
    object_id        TEXT   NOT NULL,
    before_json      TEXT,
    after_json       TEXT,
    CHECK ((actor_user_id IS NULL) <> (actor_service IS NULL))
);
CREATE INDEX audit_records_by_object ON audit_records (tenant_id, object_type, object_id, sequence);
