//! AppointMasterAdministrator: appointing again changes nothing, two appointments at once make
//! one Master Administrator, and a person suspended while being appointed is not appointed.

use std::time::Duration;

use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::{
    AppointMasterAdministratorRequest, AppointMasterAdministratorResponse, ListAuditRecordsRequest,
};
use lms_kernel::UserStatus;
use tonic::Code;

use crate::fixture::{Platform, reason};

const MASTER: &str = "builtin:master_administrator";

async fn appoint(
    platform: &Platform,
    operator: &str,
    user: &str,
) -> Result<AppointMasterAdministratorResponse, tonic::Status> {
    let mut tenants = platform.tenants(operator);
    let request = AppointMasterAdministratorRequest {
        tenant_id: platform.tenant.to_string(),
        user_id: user.to_owned(),
    };
    Ok(tenants
        .appoint_master_administrator(request)
        .await?
        .into_inner())
}

/// How many Master Administrator assignments `user` holds.
async fn masters(platform: &Platform, admin: &str, user: &str) -> usize {
    let held = platform.roles_of(admin, user).await;
    held.iter().filter(|role| *role == MASTER).count()
}

/// How many appointments of `user` identity's audit trail records.
async fn recorded_appointments(platform: &Platform, admin: &str, user: &str) -> usize {
    IdentityAuditServiceClient::new(platform.identity.authorized(admin))
        .list_audit_records(ListAuditRecordsRequest {
            object_type: "user".into(),
            object_id: user.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records
        .iter()
        .filter(|record| record.action == "tenant.master_administrator_appointed")
        .count()
}

/// A platform whose tenant takes clients, with a new person in it: (platform, the
/// administrator's token, the operator's token, the person's id).
async fn master_tenant_with_a_person() -> (Platform, String, String, String) {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform.enable_clients(&admin).await;
    let person = platform.create_user(&admin, "mara@example.org", "").await;
    let operator = platform.operator_token();
    (platform, admin, operator, person)
}

#[tokio::test]
async fn appointing_a_master_administrator_again_answers_the_first_assignment_and_changes_nothing()
{
    let (platform, admin, operator, person) = master_tenant_with_a_person().await;
    let first = appoint(&platform, &operator, &person).await.unwrap();
    assert!(!first.already_appointed);
    assert!(!first.assignment_id.is_empty() && first.written_at.is_some());

    let again = appoint(&platform, &operator, &person).await.unwrap();
    assert!(again.already_appointed);
    assert_eq!(again.assignment_id, first.assignment_id);
    assert!(again.written_at.is_some(), "the answer carries a token");
    assert_eq!(masters(&platform, &admin, &person).await, 1);
    assert_eq!(recorded_appointments(&platform, &admin, &person).await, 1);
}

#[tokio::test]
async fn two_appointments_at_once_make_one_master_administrator() {
    let (platform, admin, operator, person) = master_tenant_with_a_person().await;
    let (one, other) = tokio::join!(
        appoint(&platform, &operator, &person),
        appoint(&platform, &operator, &person)
    );
    let (one, other) = (one.unwrap(), other.unwrap());
    assert_eq!(one.assignment_id, other.assignment_id);
    assert!(!one.assignment_id.is_empty());
    assert_eq!(masters(&platform, &admin, &person).await, 1);
}

#[tokio::test]
async fn a_person_suspended_while_being_appointed_is_not_appointed() {
    let (platform, admin, operator, person) = master_tenant_with_a_person().await;
    // A suspension under way in identity's store: its transaction holds the person's row, and
    // every other reader still sees them active until it commits.
    let store = sqlx::PgPool::connect(&platform.identity_url).await.unwrap();
    let mut suspension = store.begin().await.unwrap();
    sqlx::query("UPDATE users SET status = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind(platform.tenant.as_uuid())
        .bind(uuid::Uuid::parse_str(&person).unwrap())
        .bind(UserStatus::Suspended.code())
        .execute(&mut *suspension)
        .await
        .unwrap();
    let appointing = {
        let mut tenants = platform.tenants(&operator);
        let request = AppointMasterAdministratorRequest {
            tenant_id: platform.tenant.to_string(),
            user_id: person.clone(),
        };
        tokio::spawn(async move { tenants.appoint_master_administrator(request).await })
    };
    // Time for the appointment to read the person (active) and reach its own write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    suspension.commit().await.unwrap();

    let refused = appointing.await.unwrap().unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::FailedPrecondition, "NOT_AN_ACTIVE_PERSON")
    );
    assert_eq!(masters(&platform, &admin, &person).await, 0);
    assert_eq!(recorded_appointments(&platform, &admin, &person).await, 0);
}
