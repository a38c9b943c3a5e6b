//! The escalation rule beyond grants: responsibilities count, a role is judged as it was and as
//! it becomes, and services ask the rule through CheckEscalation before acting on people.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::authorization::v1::{
    CheckEscalationRequest, CheckEscalationResponse, CreateRoleRequest, Decision,
    DeleteRoleRequest, Grant, Reach, ResponsibilityHolder, RolePlacement, UpdateRoleRequest,
    check_escalation_request::Question,
};
use lms_kernel::UserId;
use lms_runtime::client::CallCredentials;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::fixture::{Fixture, reason};

fn grant(permission: &str, reach: Reach) -> Grant {
    Grant {
        permission: permission.into(),
        reach: reach as i32,
    }
}

fn roles_of(
    f: &Fixture,
    user: UserId,
) -> RoleServiceClient<InterceptedService<Channel, CallCredentials>> {
    RoleServiceClient::new(f.service.authorized(&f.user_token(user)))
}

async fn ask(f: &Fixture, caller: UserId, question: Question) -> CheckEscalationResponse {
    PermissionServiceClient::new(f.service.authorized(&f.user_token(caller)))
        .check_escalation(CheckEscalationRequest {
            question: Some(question),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn an_organization_administrator_cannot_copy_the_lms_administrator_keeping_its_responsibilities()
 {
    let f = Fixture::start().await;
    let organisation = f.holder("builtin:organization_administrator", None).await;
    let refused = roles_of(&f, organisation)
        .create_role(CreateRoleRequest {
            name: "Narrow admin".into(),
            copy_from_role_id: "builtin:lms_administrator".into(),
            grants: vec![grant("courses.read", Reach::Tenant)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ESCALATION".into())
    );
    assert!(refused.message().contains("course_tutor"), "{refused:?}");
    // The same grants from scratch allow no responsibility and are within the actor's.
    roles_of(&f, organisation)
        .create_role(CreateRoleRequest {
            name: "Browser".into(),
            grants: vec![grant("courses.read", Reach::Tenant)],
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_organization_administrator_cannot_edit_or_delete_a_role_granting_security_settings() {
    let f = Fixture::start().await;
    let lms = f.holder("builtin:lms_administrator", None).await;
    let organisation = f.holder("builtin:organization_administrator", None).await;
    let security = roles_of(&f, lms)
        .create_role(CreateRoleRequest {
            name: "Security officer".into(),
            grants: vec![grant("security_settings.update", Reach::Tenant)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();

    // Narrowing it to grants the Organization Administrator holds would strip its holders of
    // what the editor never held.
    let mut narrowed = security.clone();
    narrowed.grants = vec![grant("courses.read", Reach::Tenant)];
    let edit = roles_of(&f, organisation)
        .update_role(UpdateRoleRequest {
            role_id: security.role_id.clone(),
            role: Some(narrowed.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["grants".into()],
            }),
            expected_version: security.version,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (edit.code(), reason(&edit)),
        (Code::PermissionDenied, "ESCALATION".into())
    );
    assert!(
        edit.message().contains("security_settings.update"),
        "{edit:?}"
    );

    let delete = roles_of(&f, organisation)
        .delete_role(DeleteRoleRequest {
            role_id: security.role_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (delete.code(), reason(&delete)),
        (Code::PermissionDenied, "ESCALATION".into())
    );

    // Whoever holds it edits and deletes it.
    roles_of(&f, lms)
        .update_role(UpdateRoleRequest {
            role_id: security.role_id.clone(),
            role: Some(narrowed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["grants".into()],
            }),
            expected_version: 0,
        })
        .await
        .unwrap();
    roles_of(&f, lms)
        .delete_role(DeleteRoleRequest {
            role_id: security.role_id,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn check_escalation_says_who_may_administer_assign_and_take_on_responsibilities() {
    let f = Fixture::start().await;
    let lms = f.holder("builtin:lms_administrator", None).await;
    let coordinator = f.holder("builtin:training_coordinator", None).await;
    let student = f.user().await;
    let importer = f.user().await;

    let outranked = ask(
        &f,
        coordinator,
        Question::AdministeredUserId(lms.to_string()),
    )
    .await;
    assert_eq!(outranked.decision(), Decision::Denied);
    assert_eq!(outranked.denial_reason, "OUTRANKED");
    assert!(outranked.message.contains("system_configuration.update"));
    let below = ask(
        &f,
        coordinator,
        Question::AdministeredUserId(student.to_string()),
    )
    .await;
    assert_eq!(below.decision(), Decision::Allowed);

    let manager = || {
        Question::AssignedRole(RolePlacement {
            role_id: "builtin:manager".into(),
            unit_id: String::new(),
        })
    };
    assert_eq!(ask(&f, lms, manager()).await.decision(), Decision::Allowed);
    let escalating = ask(&f, importer, manager()).await;
    assert_eq!(
        (escalating.decision(), escalating.denial_reason.as_str()),
        (Decision::Denied, "ESCALATION")
    );

    let give = |user: UserId| {
        Question::GivenResponsibility(ResponsibilityHolder {
            user_id: user.to_string(),
            responsibility: "group_manager".into(),
        })
    };
    let ineligible = ask(&f, lms, give(student)).await;
    assert_eq!(
        (ineligible.decision(), ineligible.denial_reason.as_str()),
        (Decision::Denied, "RESPONSIBILITY_NOT_ALLOWED")
    );
    let manager_holder = f.holder("builtin:manager", None).await;
    assert_eq!(
        ask(&f, lms, give(manager_holder)).await.decision(),
        Decision::Allowed
    );

    let bad = PermissionServiceClient::new(f.service.authorized(&f.user_token(lms)))
        .check_escalation(CheckEscalationRequest { question: None })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

/// Review of issue 13: CheckEscalation about another person tells someone who may not read that
/// person's roles only the answer and its reason, never what the person holds.
#[tokio::test]
async fn a_student_asking_about_an_administrator_learns_nothing_of_their_grants() {
    let f = Fixture::start().await;
    let lms = f.holder("builtin:lms_administrator", None).await;
    let student = f.user().await;
    let asked = ask(&f, student, Question::AdministeredUserId(lms.to_string())).await;
    assert_eq!(asked.decision(), Decision::Denied);
    assert_eq!(asked.denial_reason, "OUTRANKED");
    assert!(
        !asked.message.contains('.'),
        "no permission named: {}",
        asked.message
    );
}

/// Review of issue 13 (M3, assignment half): assigning a role compares its responsibilities as
/// well as its grants, so an existing role that allows duties the assigner's roles do not allow
/// cannot be handed out by them.
#[tokio::test]
async fn an_organization_administrator_cannot_assign_a_role_allowing_duties_they_lack() {
    use lms_api::authorization::v1::AssignRoleRequest;
    use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;

    let f = Fixture::start().await;
    let lms = f.holder("builtin:lms_administrator", None).await;
    let organisation = f.holder("builtin:organization_administrator", None).await;
    let student = f.user().await;
    // The LMS Administrator makes a narrow role that still allows every duty its copy allowed.
    let eligible = roles_of(&f, lms)
        .create_role(CreateRoleRequest {
            name: "Eligible browser".into(),
            copy_from_role_id: "builtin:lms_administrator".into(),
            grants: vec![grant("courses.read", Reach::Tenant)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    let assign = |assigner: UserId| {
        let mut client =
            RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(assigner)));
        let role_id = eligible.role_id.clone();
        async move {
            client
                .assign_role(AssignRoleRequest {
                    user_id: student.to_string(),
                    role_id,
                    ..Default::default()
                })
                .await
        }
    };
    let refused = assign(organisation).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ESCALATION".into())
    );
    assign(lms)
        .await
        .expect("the LMS Administrator allows those duties");
}
