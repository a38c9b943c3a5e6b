//! `lms operator init`: the first platform operator, written into the store at install, trades
//! its id and secret for operator tokens like any service account.

use lms_api::identity::v1::{
    CreateTenantRequest, IssueServiceTokenRequest, ListServiceAccountsRequest, NewUser,
};
use lms_identity::operator::{self, OperatorInitError};
use lms_runtime::ServiceName;
use lms_testkit::TestAuth;
use tonic::Code;

use crate::fixture::{Platform, reason};

#[tokio::test]
async fn the_installed_operator_trades_its_secret_for_tokens_that_create_tenants() {
    let platform = Platform::start().await;
    let context = lms_testkit::service_context(
        ServiceName::Identity,
        &platform.identity_url,
        None,
        &TestAuth::new(),
    );
    let made = operator::init(&context, "operator").await.unwrap();
    // A second install under the same name refuses instead of adding a twin.
    assert!(matches!(
        operator::init(&context, "operator").await,
        Err(OperatorInitError::Exists(name)) if name == "operator"
    ));
    assert!(matches!(
        operator::init(&context, "Not A Name").await,
        Err(OperatorInitError::Name(_))
    ));

    let token = platform
        .authn()
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: made.service_account_id.to_string(),
            client_secret: made.client_secret.clone(),
            tenant_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_token;
    let listed = platform
        .authn_as(&token)
        .list_service_accounts(ListServiceAccountsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .service_accounts;
    let account = listed
        .iter()
        .find(|account| account.service_account_id == made.service_account_id.to_string())
        .expect("the operator account is listed");
    assert_eq!(
        (account.scopes.as_slice(), account.created_by.as_str()),
        (
            ["platform.operator".to_owned()].as_slice(),
            operator::INSTALLER
        )
    );
    let created = platform
        .tenants(&token)
        .create_tenant(CreateTenantRequest {
            name: "Installed Co".into(),
            settings: None,
            access_coordinator: Some(NewUser {
                email: "first@installed.example".into(),
                given_name: "First".into(),
                family_name: "Admin".into(),
                password: "copper-harbour-lantern-44".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.written_at.is_some());

    // The secret is the credential: a wrong one gets nothing.
    let refused = platform
        .authn()
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: made.service_account_id.to_string(),
            client_secret: "lmscs_wrong".into(),
            tenant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::Unauthenticated, "INVALID_CLIENT")
    );
}
