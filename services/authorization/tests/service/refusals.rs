//! Refusals that say why: a subject nobody announced, a tenant that is not the caller's, a
//! session that lacks a second factor, facts that name another tenant's objects.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, CreateRoleRequest, Decision, ExplainRequest, Relation,
    TenantFacts, UpdateRoleRequest, WriteRelationshipsRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType};
use lms_kernel::{TenantId, UserId};

use crate::fixture::{Fixture, reference, touch, user_ref, uuid_v4};

fn fully_consistent() -> Option<Consistency> {
    Some(Consistency {
        requirement: Some(Requirement::FullyConsistent(true)),
    })
}

/// Explain as the user asks it: the decision and its denial reason.
async fn explain(
    f: &Fixture,
    user: UserId,
    permission: &str,
    resource: ObjectReference,
) -> (Decision, String) {
    let response = PermissionServiceClient::new(f.service.authorized(&f.user_token(user)))
        .explain(ExplainRequest {
            subject_id: String::new(),
            permission: permission.into(),
            resource: Some(resource),
            consistency: fully_consistent(),
        })
        .await
        .unwrap()
        .into_inner();
    let reason = response.explanation.unwrap().denial_reason;
    (
        lms_api::authorization::v1::Decision::try_from(response.decision).unwrap(),
        reason,
    )
}

#[tokio::test]
async fn a_subject_authorization_never_heard_of_is_denied_even_their_own_learning() {
    let f = Fixture::start().await;
    // A valid token, but identity's status event never arrived.
    let stranger = UserId::generate();
    assert!(!f.may(stranger, "reports.read", user_ref(stranger)).await);
    let (decision, reason) = explain(&f, stranger, "reports.read", user_ref(stranger)).await;
    assert_eq!(decision, Decision::Denied);
    assert_eq!(reason, "SUBJECT_UNKNOWN");
    // Once announced, the same person reads their own profile.
    let announced = f.user().await;
    assert!(f.may(announced, "reports.read", user_ref(announced)).await);
}

#[tokio::test]
async fn an_lms_administrator_cannot_update_another_tenants_configuration() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let home = reference(ObjectType::Tenant, f.tenant);
    assert!(f.may(admin, "system_configuration.update", home).await);
    let other = TenantId::generate();
    let (decision, reason) = explain(
        &f,
        admin,
        "system_configuration.update",
        reference(ObjectType::Tenant, other),
    )
    .await;
    assert_eq!(decision, Decision::Denied);
    assert_eq!(reason, "OUTSIDE_TENANT");
    // A reference that names the caller's tenant as the owner of another tenant is refused.
    let mut contradictory = reference(ObjectType::Tenant, other);
    contradictory.tenant_id = f.tenant.to_string();
    let status = PermissionServiceClient::new(f.service.authorized(&f.user_token(admin)))
        .check(CheckRequest {
            subject_id: String::new(),
            permission: "system_configuration.update".into(),
            resource: Some(contradictory),
            consistency: fully_consistent(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("resource.tenant_id"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_password_only_admin_session_is_told_a_second_factor_is_required() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let student = f.user().await;
    f.write(
        Vec::new(),
        Some(TenantFacts {
            locations_enabled: false,
            clients_enabled: false,
            mfa_required_for_admins: true,
        }),
        Vec::new(),
    )
    .await;
    let (decision, reason) = explain(&f, admin, "users.update", user_ref(student)).await;
    assert_eq!(decision, Decision::Denied);
    assert_eq!(reason, "MFA_REQUIRED");
    // What no role of theirs grants is still a missing grant, not a missing second factor.
    let (_, reason) = explain(&f, student, "users.update", user_ref(admin)).await;
    assert_eq!(reason, "NO_GRANT");
}

#[tokio::test]
async fn a_fact_batch_naming_another_tenants_object_is_refused_whole() {
    let f = Fixture::start().await;
    let manager = f.holder("builtin:manager", None).await;
    let member = f.user().await;
    let group = uuid::Uuid::now_v7();
    let mut foreign_group = reference(ObjectType::Group, group);
    foreign_group.tenant_id = TenantId::generate().to_string();
    let status = RelationshipServiceClient::new(f.service.authorized(&f.identity_token()))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid_v4(),
            updates: vec![
                touch(
                    reference(ObjectType::Group, group),
                    Relation::Manager,
                    user_ref(manager),
                ),
                touch(foreign_group, Relation::PrimaryMember, user_ref(member)),
            ],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("updates[1].relationship.resource.tenant_id"),
        "{}",
        status.message()
    );
    // Nothing of the batch was applied: the manager does not reach the member.
    assert!(!f.may(manager, "users.read", user_ref(member)).await);
    // The tenant's own id in `tenant_id` is no contradiction.
    let mut own_group = reference(ObjectType::Group, group);
    own_group.tenant_id = f.tenant.to_string();
    f.write(
        vec![
            touch(
                reference(ObjectType::Group, group),
                Relation::Manager,
                user_ref(manager),
            ),
            touch(own_group, Relation::PrimaryMember, user_ref(member)),
        ],
        None,
        Vec::new(),
    )
    .await;
    assert!(f.may(manager, "users.read", user_ref(member)).await);
}

#[tokio::test]
async fn a_role_description_is_bounded_like_other_free_text() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let mut roles = RoleServiceClient::new(f.service.authorized(&f.user_token(admin)));
    let long = "x".repeat(1001);
    let refused = roles
        .create_role(CreateRoleRequest {
            name: "Coach".into(),
            description: long.clone(),
            copy_from_role_id: "builtin:manager".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("description"),
        "{}",
        refused.message()
    );
    let mut role = roles
        .create_role(CreateRoleRequest {
            name: "Coach".into(),
            description: "x".repeat(1000),
            copy_from_role_id: "builtin:manager".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    role.description = long;
    let refused = roles
        .update_role(UpdateRoleRequest {
            role_id: role.role_id.clone(),
            role: Some(role),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("role.description"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_role_at_a_unit_the_tenant_does_not_have_is_refused_as_not_found() {
    let f = Fixture::start().await;
    f.settings(true, false).await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let user = f.user().await;
    let (own, foreign) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    // Identity announces the tenant's unit; the other is another tenant's (or nobody's).
    f.announce_unit(&own.to_string()).await;
    let assign = |unit: uuid::Uuid| AssignRoleRequest {
        user_id: user.to_string(),
        role_id: "builtin:local_administrator".into(),
        unit_id: unit.to_string(),
        ..Default::default()
    };
    let mut as_admin = RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(admin)));
    let mut as_identity =
        RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()));
    for refused in [
        as_admin.assign_role(assign(foreign)).await.unwrap_err(),
        as_identity.assign_role(assign(foreign)).await.unwrap_err(),
    ] {
        assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
        assert!(refused.message().contains("unit"), "{}", refused.message());
    }
    as_admin.assign_role(assign(own)).await.unwrap();
}

#[tokio::test]
async fn a_user_identity_never_announced_is_decided_about_by_nobody() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let (decision, reason) = explain(&f, admin, "users.read", user_ref(UserId::generate())).await;
    assert_eq!(decision, Decision::Denied);
    assert_eq!(reason, "RESOURCE_UNKNOWN");
    let announced = f.user().await;
    assert!(f.may(admin, "users.read", user_ref(announced)).await);
}
