//! ListGrants: what a subject holds a permission through, as reach and place, for reports.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{HeldGrant, ListGrantsRequest, ListGrantsResponse, Reach};
use lms_api::common::v1::Consistency;
use lms_api::common::v1::consistency::Requirement;
use lms_kernel::UserId;

use crate::fixture::Fixture;

async fn grants_as(
    f: &Fixture,
    token: &str,
    subject: Option<UserId>,
    permission: &str,
) -> Result<ListGrantsResponse, tonic::Status> {
    PermissionServiceClient::new(f.service.authorized(token))
        .list_grants(ListGrantsRequest {
            subject_id: subject.map(|s| s.to_string()).unwrap_or_default(),
            permission: permission.into(),
            consistency: Some(Consistency {
                requirement: Some(Requirement::FullyConsistent(true)),
            }),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn held(reach: Reach, unit: &str, role: &str) -> HeldGrant {
    HeldGrant {
        reach: reach as i32,
        unit_id: unit.into(),
        role_id: role.into(),
    }
}

#[tokio::test]
async fn a_subject_s_grants_answer_each_reach_at_its_place() {
    let f = Fixture::start().await;
    f.settings(true, false).await;
    let unit = uuid::Uuid::now_v7().to_string();
    let local = f
        .holder("builtin:local_administrator", Some(unit.clone()))
        .await;
    let answer = grants_as(&f, &f.user_token(local), None, "reports.read")
        .await
        .unwrap();
    assert!(
        answer
            .grants
            .contains(&held(Reach::Own, "", "builtin:student"))
    );
    assert!(
        answer
            .grants
            .contains(&held(Reach::Unit, &unit, "builtin:local_administrator")),
        "{:?}",
        answer.grants
    );
    assert!(answer.responsibilities.is_empty() && answer.client_tenant_ids.is_empty());
    assert!(answer.checked_at.is_some());

    // A plain learner holds their own reports only; nobody's holds nothing else.
    let learner = f.user().await;
    let own = grants_as(&f, &f.user_token(learner), None, "reports.read")
        .await
        .unwrap();
    assert_eq!(own.grants, [held(Reach::Own, "", "builtin:student")]);
    let nothing = grants_as(&f, &f.user_token(learner), None, "users.delete")
        .await
        .unwrap();
    assert!(nothing.grants.is_empty() && nothing.responsibilities.is_empty());

    // A person asks about themselves only; a service names whom it asks about.
    let refused = grants_as(&f, &f.user_token(learner), Some(local), "reports.read")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let asked = grants_as(
        &f,
        &f.auth.tenant_service_token("reporting", f.tenant),
        Some(local),
        "reports.read",
    )
    .await
    .unwrap();
    assert_eq!(asked.grants, answer.grants);
    let bad = grants_as(&f, &f.user_token(learner), None, "no.such")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn a_master_administrator_s_grants_name_the_clients_they_reach() {
    let f = Fixture::start().await;
    let (client, master) = f.master_of_a_client().await;
    let answer = grants_as(&f, &f.user_token(master), None, "reports.read")
        .await
        .unwrap();
    assert!(answer.grants.contains(&held(
        Reach::TenantAndClients,
        "",
        "builtin:master_administrator"
    )));
    assert_eq!(answer.client_tenant_ids, [client.to_string()]);
}
