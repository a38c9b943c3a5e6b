//! Role changes a service delivers from its outbox are applied once per event: a redelivery
//! (a relay cut short, two replicas sending the same event) never assigns twice and never
//! brings back a role revoked since.

use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, AssignmentSource, ListAuditRecordsRequest, ListUserRolesRequest,
    RevokeRoleRequest,
};
use lms_kernel::UserId;
use tonic::Code;

use crate::fixture::{Fixture, uuid_v4};

async fn roles_of(fixture: &Fixture, user: UserId) -> Vec<String> {
    RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.identity_token()))
        .list_user_roles(ListUserRolesRequest {
            user_id: user.to_string(),
            include_inactive: true,
        })
        .await
        .unwrap()
        .into_inner()
        .assignments
        .into_iter()
        .map(|a| a.role_id)
        .collect()
}

fn assign(user: UserId, event: &str, source: AssignmentSource) -> AssignRoleRequest {
    AssignRoleRequest {
        user_id: user.to_string(),
        role_id: "builtin:manager".into(),
        event_id: event.into(),
        source: source as i32,
        ..Default::default()
    }
}

fn revoke(user: UserId, event: &str, source: AssignmentSource) -> RevokeRoleRequest {
    RevokeRoleRequest {
        user_id: user.to_string(),
        role_id: "builtin:manager".into(),
        event_id: event.into(),
        source: source as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_redelivered_assignment_is_made_once_and_never_revives_a_revoked_role() {
    let fixture = Fixture::start().await;
    let user = fixture.user().await;
    let mut service =
        RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.identity_token()));
    let (given, taken) = (uuid_v4(), uuid_v4());
    let feed = AssignmentSource::PeopleDataFeed;

    let first = service
        .assign_role(assign(user, &given, feed))
        .await
        .unwrap();
    let again = service
        .assign_role(assign(user, &given, feed))
        .await
        .unwrap();
    assert_eq!(
        first.into_inner().assignment.unwrap().assignment_id,
        again.into_inner().assignment.unwrap().assignment_id,
        "the assignment takes the event's id"
    );
    assert_eq!(roles_of(&fixture, user).await, ["builtin:manager"]);

    service
        .revoke_role(revoke(user, &taken, feed))
        .await
        .unwrap();
    assert!(roles_of(&fixture, user).await.is_empty());
    // Both events delivered again, in order: nothing comes back.
    service
        .assign_role(assign(user, &given, feed))
        .await
        .unwrap();
    service
        .revoke_role(revoke(user, &taken, feed))
        .await
        .unwrap();
    assert!(roles_of(&fixture, user).await.is_empty());
}

#[tokio::test]
async fn taking_back_by_holder_takes_only_the_named_source_and_only_services_may() {
    let fixture = Fixture::start().await;
    let user = fixture.user().await;
    // An administrator's Manager assignment (made manually) and the feed's.
    fixture.grant(user, "builtin:manager", None).await;
    let mut service =
        RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.identity_token()));
    service
        .assign_role(assign(user, &uuid_v4(), AssignmentSource::PeopleDataFeed))
        .await
        .unwrap();
    assert_eq!(roles_of(&fixture, user).await.len(), 2);

    service
        .revoke_role(revoke(user, &uuid_v4(), AssignmentSource::PeopleDataFeed))
        .await
        .unwrap();
    assert_eq!(
        roles_of(&fixture, user).await,
        ["builtin:manager"],
        "the feed takes back only what the feed gave"
    );

    let admin = fixture.holder("builtin:lms_administrator", None).await;
    // A person's assignment is manual whatever source it claims, so the feed cannot take it.
    RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.user_token(admin)))
        .assign_role(assign(user, "", AssignmentSource::PeopleDataFeed))
        .await
        .unwrap();
    service
        .revoke_role(revoke(user, &uuid_v4(), AssignmentSource::PeopleDataFeed))
        .await
        .unwrap();
    assert_eq!(roles_of(&fixture, user).await.len(), 2);
    let refused =
        RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.user_token(admin)))
            .revoke_role(revoke(user, &uuid_v4(), AssignmentSource::Unspecified))
            .await
            .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(roles_of(&fixture, user).await.len(), 2);
}

/// Who authorization's audit names for each assignment change, newest first.
async fn audit_actors(fixture: &Fixture, reader: UserId) -> Vec<(String, String)> {
    RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.user_token(reader)))
        .list_audit_records(ListAuditRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records
        .into_iter()
        .map(|r| (r.action, r.stamp.unwrap().actor_id))
        .collect()
}

#[tokio::test]
async fn a_service_acting_for_a_person_names_them_in_the_audit_and_people_cannot_claim_to() {
    let fixture = Fixture::start().await;
    let user = fixture.user().await;
    let admin = fixture.holder("builtin:lms_administrator", None).await;
    let approver = fixture.user().await;
    let mut service =
        RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.identity_token()));
    let feed = AssignmentSource::PeopleDataFeed;
    service
        .assign_role(AssignRoleRequest {
            on_behalf_of: approver.to_string(),
            ..assign(user, &uuid_v4(), feed)
        })
        .await
        .unwrap();
    service
        .revoke_role(RevokeRoleRequest {
            on_behalf_of: approver.to_string(),
            ..revoke(user, &uuid_v4(), feed)
        })
        .await
        .unwrap();
    let malformed = service
        .assign_role(AssignRoleRequest {
            on_behalf_of: "someone".into(),
            ..assign(user, &uuid_v4(), feed)
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(malformed.message().contains("on_behalf_of"));
    // A person acts as themselves whoever they name.
    RoleAssignmentServiceClient::new(fixture.service.authorized(&fixture.user_token(admin)))
        .assign_role(AssignRoleRequest {
            on_behalf_of: approver.to_string(),
            ..assign(user, "", AssignmentSource::Manual)
        })
        .await
        .unwrap();

    let actors = audit_actors(&fixture, admin).await;
    let about_user: Vec<_> = actors.iter().take(3).cloned().collect();
    assert_eq!(
        about_user,
        [
            ("role_assignment.created".to_owned(), admin.to_string()),
            ("role_assignment.revoked".to_owned(), approver.to_string()),
            ("role_assignment.created".to_owned(), approver.to_string()),
        ]
    );
}
