//! Roles and assignments through the API: the escalation rule's refusals, revocation with a
//! consistency token, explanations and the audit trail.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, CreateRoleRequest, Decision, DeleteRoleRequest,
    ExplainRequest, Grant, ListAuditRecordsRequest, ListPermissionsRequest, ListRolesRequest,
    ListUserRolesRequest, Reach, RevokeRoleRequest, UpdateRoleRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectType};
use lms_kernel::{CourseId, UnitId, UserId};
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixture::{Fixture, reason, reference, touch, user_ref};

async fn assign_as(
    f: &Fixture,
    assigner: UserId,
    user: UserId,
    role: &str,
    unit: Option<UnitId>,
) -> Result<String, tonic::Status> {
    RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(assigner)))
        .assign_role(AssignRoleRequest {
            user_id: user.to_string(),
            role_id: role.into(),
            unit_id: unit.map(|u| u.to_string()).unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().assignment.unwrap().assignment_id)
}

#[tokio::test]
async fn nobody_assigns_a_role_granting_more_than_they_hold_and_the_refusal_names_the_gap() {
    let f = Fixture::start().await;
    let city = UnitId::generate();
    f.settings(true, false).await;
    let local = f
        .holder("builtin:local_administrator", Some(city.to_string()))
        .await;
    let user = f.user().await;
    f.write(
        vec![touch(
            reference(ObjectType::Unit, city),
            lms_api::authorization::v1::Relation::Employee,
            user_ref(user),
        )],
        None,
        Vec::new(),
    )
    .await;

    let status = assign_as(&f, local, user, "builtin:lms_administrator", None)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "ESCALATION");
    let missing = status.get_details_error_info().unwrap().metadata["missing_grants"].clone();
    assert!(
        missing.contains("system_configuration.update@tenant"),
        "{missing}"
    );

    // What they hold, at their location, they may hand out.
    assign_as(&f, local, user, "builtin:student", Some(city))
        .await
        .unwrap();
    // The same role elsewhere is outside their reach.
    let elsewhere = f.user().await;
    let status = assign_as(
        &f,
        local,
        elsewhere,
        "builtin:student",
        Some(UnitId::generate()),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn roles_needing_a_setting_or_a_unit_say_so() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let user = f.user().await;
    let status = assign_as(
        &f,
        admin,
        user,
        "builtin:local_administrator",
        Some(UnitId::generate()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status)),
        (Code::FailedPrecondition, "TENANT_PRECONDITION".into())
    );
    assert!(
        status.message().contains("locations_enabled"),
        "{}",
        status.message()
    );
    f.settings(true, false).await;
    let status = assign_as(&f, admin, user, "builtin:local_administrator", None)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.get_details_bad_request().unwrap().field_violations[0].field,
        "unit_id"
    );
}

#[tokio::test]
async fn defining_a_role_obeys_the_escalation_rule() {
    let f = Fixture::start().await;
    let coordinator = f.holder("builtin:training_coordinator", None).await;
    let mut roles = RoleServiceClient::new(f.service.authorized(&f.user_token(coordinator)));
    let grant = |permission: &str, reach: Reach| Grant {
        permission: permission.into(),
        reach: reach as i32,
    };
    let status = roles
        .create_role(CreateRoleRequest {
            name: "Configurer".into(),
            grants: vec![grant("system_configuration.update", Reach::Tenant)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status)),
        (Code::PermissionDenied, "ESCALATION".into())
    );

    let created = roles
        .create_role(CreateRoleRequest {
            name: "Team coach".into(),
            copy_from_role_id: "builtin:manager".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert_eq!(created.copied_from_role_id, "builtin:manager");
    let duplicate = roles
        .create_role(CreateRoleRequest {
            name: "team COACH".into(),
            copy_from_role_id: "builtin:manager".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);

    let mut changed = created.clone();
    changed
        .grants
        .push(grant("security_settings.update", Reach::Tenant));
    let status = roles
        .update_role(UpdateRoleRequest {
            role_id: created.role_id.clone(),
            role: Some(changed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["grants".into()],
            }),
            expected_version: created.version,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ESCALATION");

    let listed = roles
        .list_roles(ListRolesRequest {
            custom_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.roles.len(), 1);
    let all = roles
        .list_roles(ListRolesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.roles.len(), 19, "18 templates and the custom role");

    let builtin = roles
        .delete_role(DeleteRoleRequest {
            role_id: "builtin:tutor".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(builtin.code(), Code::FailedPrecondition);
    roles
        .delete_role(DeleteRoleRequest {
            role_id: created.role_id,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_revoked_role_never_allows_with_the_revocation_token() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let course = CourseId::generate();
    let tutor = f.user().await;
    let assignment = assign_as(&f, admin, tutor, "builtin:training_coordinator", None)
        .await
        .unwrap();
    assert!(
        f.may(
            tutor,
            "courses.delete",
            reference(ObjectType::Course, course)
        )
        .await
    );

    let token = RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(admin)))
        .revoke_role(RevokeRoleRequest {
            assignment_id: assignment.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .written_at
        .unwrap();
    let response = PermissionServiceClient::new(f.service.authorized(&f.user_token(tutor)))
        .check(CheckRequest {
            permission: "courses.delete".into(),
            resource: Some(reference(ObjectType::Course, course)),
            consistency: Some(Consistency {
                requirement: Some(Requirement::AtLeastAsFresh(token)),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.decision(), Decision::Denied);
    let again = RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(admin)))
        .revoke_role(RevokeRoleRequest {
            assignment_id: assignment,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn explain_names_the_role_and_reach_or_the_reason() {
    let f = Fixture::start().await;
    let manager = f.holder("builtin:manager", None).await;
    let mut client = PermissionServiceClient::new(f.service.authorized(&f.user_token(manager)));
    let explained = client
        .explain(ExplainRequest {
            permission: "courses.read".into(),
            resource: Some(reference(ObjectType::Course, CourseId::generate())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(explained.decision(), Decision::Allowed);
    let why = explained.explanation.unwrap();
    assert_eq!(why.role_id, "builtin:manager");
    assert!(!why.assignment_id.is_empty());
    assert_eq!(why.grant.unwrap().reach, Reach::Tenant as i32);

    let denied = client
        .explain(ExplainRequest {
            permission: "users.delete".into(),
            resource: Some(user_ref(f.user().await)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(denied.explanation.unwrap().denial_reason, "NO_GRANT");
}

#[tokio::test]
async fn every_assignment_change_is_audited_and_users_read_their_own_roles() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let user = f.user().await;
    let assignment = assign_as(&f, admin, user, "builtin:tutor", None)
        .await
        .unwrap();
    let mut admin_client =
        RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(admin)));
    admin_client
        .revoke_role(RevokeRoleRequest {
            assignment_id: assignment.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let records = admin_client
        .list_audit_records(ListAuditRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    let about: Vec<_> = records
        .iter()
        .filter(|r| r.object.as_ref().unwrap().id == assignment)
        .collect();
    assert_eq!(about.len(), 2);
    assert_eq!(about[0].action, "role_assignment.revoked");
    assert!(about[0].before_json.contains("builtin:tutor") && about[0].after_json.is_empty());
    assert_eq!(about[0].stamp.as_ref().unwrap().actor_id, admin.to_string());

    let own = RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(user)))
        .list_user_roles(ListUserRolesRequest {
            user_id: user.to_string(),
            include_inactive: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(own.assignments.is_empty());
    let nosy = RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(user)))
        .list_user_roles(ListUserRolesRequest {
            user_id: admin.to_string(),
            include_inactive: false,
        })
        .await
        .unwrap_err();
    assert_eq!(nosy.code(), Code::PermissionDenied);
    assert!(
        RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(user)))
            .list_audit_records(ListAuditRecordsRequest::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn list_permissions_explains_every_permission_area_by_area() {
    let f = Fixture::start().await;
    // Anyone signed in may read the vocabulary: a Student too.
    let student = f.holder("builtin:student", None).await;
    let permissions = RoleServiceClient::new(f.service.authorized(&f.user_token(student)))
        .list_permissions(ListPermissionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .permissions;
    assert_eq!(permissions.len(), lms_kernel::Permission::ALL.len());

    let users_read = permissions.iter().find(|p| p.name == "users.read").unwrap();
    assert_eq!(
        (users_read.area.as_str(), users_read.area_title.as_str()),
        ("users", "Users")
    );
    assert_eq!(users_read.description, "See a user's profile.");
    assert!(users_read.risky);
    let units_create = permissions
        .iter()
        .find(|p| p.name == "units.create")
        .unwrap();
    assert_eq!(units_create.area_title, "Locations and accounts");
    assert!(!units_create.risky);

    for permission in &permissions {
        assert!(
            permission.description.ends_with('.')
                && permission
                    .name
                    .starts_with(&format!("{}.", permission.area))
                && !permission.area_title.is_empty(),
            "{permission:?}"
        );
    }
    // Area by area, in the kernel's reading order, each area once.
    let mut areas: Vec<&str> = permissions.iter().map(|p| p.area.as_str()).collect();
    areas.dedup();
    let expected: Vec<&str> = lms_kernel::Area::ALL.iter().map(|a| a.key()).collect();
    assert_eq!(areas, expected);
}
