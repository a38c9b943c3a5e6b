//! Service tokens do what their scopes say (security review M9): each fact has one owner, so a
//! service writes and reads only the relations its scope owns; decisions and role assignments
//! need their own scopes. Before, any tenant service token could do all of it.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, ListUserRolesRequest, ReadRelationshipsRequest, Relation,
    RelationshipUpdate, SubjectStatus, WriteRelationshipsBatchRequest, WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectType, UserStatus};
use lms_runtime::auth::{Scope, Scopes};
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixture::{Fixture, reason, reference, touch, user_ref, uuid_v4};

fn token(f: &Fixture, name: &str, scopes: &[Scope]) -> String {
    f.auth
        .scoped_token(name, Some(f.tenant), Scopes::of(scopes.iter().copied()))
}

async fn write(
    f: &Fixture,
    token: &str,
    updates: Vec<RelationshipUpdate>,
    statuses: Vec<SubjectStatus>,
) -> Result<(), tonic::Status> {
    RelationshipServiceClient::new(f.service.authorized(token))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid_v4(),
            updates,
            tenant_facts: None,
            statuses,
        })
        .await
        .map(|_| ())
}

/// The scope a refusal says was missing.
fn missing_scope(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(reason(status), "SCOPE_REQUIRED");
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("scope").cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_service_writes_and_reads_only_the_facts_its_scope_owns() {
    let f = Fixture::start().await;
    let learner = f.user().await;
    let course = uuid_v4();
    let group = uuid_v4();
    let enrolled = touch(
        reference(ObjectType::Course, &course),
        Relation::Enrolled,
        user_ref(learner),
    );
    let member = touch(
        reference(ObjectType::Group, &group),
        Relation::Member,
        user_ref(learner),
    );

    // Identity's kind of token: people facts only. A leaked one cannot enrol anyone, and
    // the batch is refused whole (the member fact in it is not written either).
    let people = token(&f, "identity", &[Scope::PeopleFacts]);
    let refused = write(
        &f,
        &people,
        vec![member.clone(), enrolled.clone()],
        Vec::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.facts.courses");
    let mut reader = RelationshipServiceClient::new(f.service.authorized(&people));
    let members = |relation: Relation| ReadRelationshipsRequest {
        resource: Some(reference(ObjectType::Group, &group)),
        relation: relation as i32,
        ..Default::default()
    };
    let read = reader
        .read_relationships(members(Relation::Member))
        .await
        .unwrap()
        .into_inner();
    assert!(
        read.relationships.is_empty(),
        "nothing of the refused batch"
    );
    write(&f, &people, vec![member], Vec::new()).await.unwrap();
    let read = reader
        .read_relationships(members(Relation::Member))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.relationships.len(), 1);

    // Delegation's kind: course facts, and no say over a person's status.
    let courses = token(&f, "delegation", &[Scope::CourseFacts]);
    write(&f, &courses, vec![enrolled], Vec::new())
        .await
        .unwrap();
    let suspend = SubjectStatus {
        user_id: learner.to_string(),
        status: UserStatus::Suspended as i32,
        restrict_bookings: false,
    };
    let refused = write(&f, &courses, Vec::new(), vec![suspend])
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.facts.people");
    let refused = RelationshipServiceClient::new(f.service.authorized(&courses))
        .read_relationships(members(Relation::Member))
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.facts.people");
    // Reading every relation at once needs every owner's scope.
    let refused = reader
        .read_relationships(ReadRelationshipsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.facts.courses");
}

#[tokio::test]
async fn a_batch_of_events_is_held_to_each_event_s_owner_and_applied_once_each() {
    let f = Fixture::start().await;
    let learner = f.user().await;
    let (course, group) = (uuid_v4(), uuid_v4());
    let event = |update: RelationshipUpdate| WriteRelationshipsRequest {
        event_id: uuid_v4(),
        updates: vec![update],
        ..Default::default()
    };
    let enrolled = event(touch(
        reference(ObjectType::Course, &course),
        Relation::Enrolled,
        user_ref(learner),
    ));
    let member = event(touch(
        reference(ObjectType::Group, &group),
        Relation::Member,
        user_ref(learner),
    ));
    let courses = token(&f, "delegation", &[Scope::CourseFacts]);
    let mut writer = RelationshipServiceClient::new(f.service.authorized(&courses));
    let refused = writer
        .write_relationships_batch(WriteRelationshipsBatchRequest {
            events: vec![enrolled.clone(), member],
        })
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.facts.people");
    let second = event(touch(
        reference(ObjectType::Course, uuid_v4()),
        Relation::Enrolled,
        user_ref(learner),
    ));
    let applied = writer
        .write_relationships_batch(WriteRelationshipsBatchRequest {
            events: vec![enrolled.clone(), second.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        applied.already_applied,
        [false, false],
        "nothing of the refused call"
    );
    assert!(applied.written_at.is_some());
    let again = writer
        .write_relationships_batch(WriteRelationshipsBatchRequest {
            events: vec![enrolled, second],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.already_applied, [true, true]);
    let bad = writer
        .write_relationships_batch(WriteRelationshipsBatchRequest {
            events: vec![WriteRelationshipsRequest::default()],
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("events[0].event_id"), "{bad:?}");
}

#[tokio::test]
async fn decisions_and_role_assignments_need_their_scopes() {
    let f = Fixture::start().await;
    let learner = f.user().await;
    let facts_only = token(&f, "shop", &[Scope::PeopleFacts, Scope::CourseFacts]);
    let check = CheckRequest {
        subject_id: learner.to_string(),
        permission: "users.read".into(),
        resource: Some(user_ref(learner)),
        ..Default::default()
    };
    let refused = PermissionServiceClient::new(f.service.authorized(&facts_only))
        .check(check.clone())
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.decide");
    let decide = token(&f, "reporting", &[Scope::Decide]);
    PermissionServiceClient::new(f.service.authorized(&decide))
        .check(check)
        .await
        .unwrap();

    let mut roles = RoleAssignmentServiceClient::new(f.service.authorized(&decide));
    let refused = roles
        .assign_role(AssignRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:lms_administrator".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.roles.assign");
    let refused = roles
        .list_user_roles(ListUserRolesRequest {
            user_id: learner.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.roles.assign");
    let assigner = token(&f, "feed", &[Scope::AssignRoles]);
    RoleAssignmentServiceClient::new(f.service.authorized(&assigner))
        .assign_role(AssignRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:tutor".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_shop_scope_gives_a_purchase_s_two_roles_and_nothing_else() {
    let f = Fixture::start().await;
    let learner = f.user().await;
    let shop = token(&f, "delegation", &[Scope::CourseFacts, Scope::ShopRoles]);
    let mut roles = RoleAssignmentServiceClient::new(f.service.authorized(&shop));
    for given in ["builtin:student", "builtin:purchaser"] {
        roles
            .assign_role(AssignRoleRequest {
                user_id: learner.to_string(),
                role_id: given.into(),
                unless_held: true,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    for refused in ["builtin:lms_administrator", "builtin:tutor"] {
        let refused = roles
            .assign_role(AssignRoleRequest {
                user_id: learner.to_string(),
                role_id: refused.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(missing_scope(&refused), "authorization.roles.assign");
    }
    let refused = roles
        .revoke_role(lms_api::authorization::v1::RevokeRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:purchaser".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing_scope(&refused), "authorization.roles.assign");
}
