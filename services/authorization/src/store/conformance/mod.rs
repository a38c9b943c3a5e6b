//! The store conformance suite: every case runs against PostgreSQL and SQLite
//! (`lms_testkit::store_conformance!` below), so the two adapters cannot drift apart. Cases are
//! grouped by port: [`roles`], [`facts`], [`decisions`].

use std::collections::BTreeSet;
use std::sync::Arc;

use lms_kernel::{
    AssignmentId, CourseId, CustomRoleId, Grants, Permission, PermissionSet, Reach,
    ResponsibilitySet, RoleId, Template, TenantId, TenantSettings, UnitId, UserId, UserStatus,
};
use uuid::Uuid;

use super::*;

mod decisions;
mod facts;
mod roles;

pub(super) const COURSE: i16 = 6;
pub(super) const USER: i16 = 3;
pub(super) const UNIT: i16 = 2;
pub(super) const TENANT: i16 = 1;
pub(super) const COURSE_TUTOR: i16 = 8;
pub(super) const PARENT_UNIT: i16 = 1;
pub(super) const CLIENT: i16 = 12;
pub(super) const MEMBER: i16 = 5;
pub(super) const PRIMARY_MEMBER: i16 = 4;

pub(super) fn stamp() -> Stamp {
    Stamp {
        actor: "tester".into(),
        at: 1_700_000_000,
    }
}

pub(super) fn audit(action: &'static str, object_id: impl ToString) -> AuditEntry {
    AuditEntry {
        stamp: stamp(),
        action,
        object_type: 5,
        object_id: object_id.to_string(),
        before: None,
        after: Some("{}".into()),
    }
}

pub(super) fn role(name: &str) -> RoleRecord {
    RoleRecord {
        id: CustomRoleId::generate(),
        name: name.into(),
        description: "test role".into(),
        grants: Grants::EMPTY.with(Reach::Team, PermissionSet::of(&[Permission::UsersRead])),
        responsibilities: ResponsibilitySet::NONE,
        copied_from: Some(RoleId::BuiltIn(Template::Manager)),
        version: 1,
        created: stamp(),
        updated: stamp(),
    }
}

pub(super) fn assignment(user: UserId, role: RoleId, main_role: bool) -> AssignmentRecord {
    AssignmentRecord {
        id: AssignmentId::generate(),
        user,
        role,
        unit: None,
        valid_from: None,
        valid_until: None,
        source: 1,
        main_role,
        assigned: stamp(),
    }
}

pub(super) fn relationship(
    resource_type: i16,
    resource: Uuid,
    relation: i16,
    subject_type: i16,
    subject: Uuid,
) -> Relationship {
    Relationship {
        resource_type,
        resource_id: resource,
        relation,
        subject_type,
        subject_id: subject,
        valid_from: None,
        valid_until: None,
    }
}

pub(super) fn batch(changes: Vec<Change>) -> FactBatch {
    FactBatch {
        event_id: Uuid::new_v4(),
        changes,
        settings: None,
        statuses: Vec::new(),
    }
}

lms_testkit::store_conformance! {
    migrations: crate::MIGRATIONS,
    postgres: crate::store::PgStore::new,
    sqlite: crate::store::SqliteStore::new,
    cases: {
        roles: [
            roles_are_stored_versioned_and_named_uniquely,
            a_held_role_cannot_be_deleted,
            assignments_list_by_user_and_role_with_one_main_role,
            every_change_leaves_an_audit_record_newest_first,
            sixteen_concurrent_writers_all_succeed,
            a_guarded_insert_adds_a_held_role_once_and_an_event_once,
        ],
        facts: [
            facts_apply_once_per_event,
            batches_apply_in_order_once_each_in_one_revision,
            a_large_batch_keeps_its_order_and_the_last_word_on_each_fact,
            a_course_has_one_tutor_and_a_refused_batch_changes_nothing,
            concurrent_tutors_leave_exactly_one,
            relationships_filter_and_page_in_key_order,
            related_reads_one_relation_at_many_objects_in_key_order,
        ],
        decisions: [
            every_write_bumps_the_tenant_revision,
            subject_rows_gather_roles_relations_and_clients,
            resource_rows_of_a_user_carry_their_relations_and_every_unit_chain,
            resource_rows_of_courses_lessons_and_events_name_what_they_hang_from,
            resource_rows_of_an_unknown_user_are_empty_at_the_current_revision,
            resource_rows_refuse_a_unit_cycle,
            resource_rows_carry_the_revision_of_the_tenant_that_owns_the_resource,
            unit_ancestors_follow_parents_and_refuse_cycles,
            a_unit_is_known_by_its_facts_or_assignments_in_its_own_tenant,
            statuses_page_in_user_order_within_their_tenant,
        ],
    }
}
