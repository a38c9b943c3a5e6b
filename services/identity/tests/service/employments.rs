//! Employments with dates and one main account, and anonymisation: reaches over a unit
//! follow the employments, and an anonymised person keeps their record but nothing personal.

use lms_api::common::v1::{ObjectType, UserStatus};
use lms_api::identity::v1::{
    AddEmploymentRequest, AnonymiseUserRequest, CreateUnitRequest, EndEmploymentRequest,
    SetMainAccountRequest, TenantSettings, UnitKind,
};
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, fields, object, reason};

#[tokio::test]
async fn an_employment_brings_a_person_into_a_location_and_ending_it_takes_them_out() {
    let platform = Platform::start_with(TenantSettings {
        locations_enabled: true,
        ..Default::default()
    })
    .await;
    let admin = platform.admin_token().await;
    let leeds = platform
        .units(&admin)
        .create_unit(CreateUnitRequest {
            kind: UnitKind::Location as i32,
            name: "Leeds".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .unit_id;
    let local = platform
        .create_user(&admin, "lara@example.org", &leeds)
        .await;
    platform
        .assign(&admin, &local, "local_administrator", &leeds)
        .await;
    let lara = platform
        .sign_in("lara@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let person = platform.create_user(&admin, "pat@example.org", "").await;
    let pat = object(ObjectType::User, &person);
    assert!(
        !platform
            .allowed(&lara, "users.read", pat.clone(), None)
            .await
    );

    let refused = platform
        .users(&admin)
        .add_employment(AddEmploymentRequest {
            user_id: person.clone(),
            unit_id: leeds.clone(),
            starts_at: Some(prost_types::Timestamp {
                seconds: 2_000_000_000,
                nanos: 0,
            }),
            ends_at: Some(prost_types::Timestamp {
                seconds: 1_900_000_000,
                nanos: 0,
            }),
            main_account: false,
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["ends_at"]);

    let added = platform
        .users(&admin)
        .add_employment(AddEmploymentRequest {
            user_id: person.clone(),
            unit_id: leeds.clone(),
            main_account: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        platform
            .allowed(&lara, "users.read", pat.clone(), added.written_at)
            .await,
        "the local administrator reaches the new employee"
    );
    let employments = platform.user(&admin, &person).await.employments;
    assert_eq!(employments.len(), 2);
    assert_eq!(
        employments.iter().filter(|e| e.main_account).count(),
        1,
        "exactly one main account"
    );
    let leeds_job = added.employment.unwrap().employment_id;
    let guest_job = employments
        .iter()
        .find(|e| e.employment_id != leeds_job)
        .unwrap()
        .employment_id
        .clone();

    let main_refused = platform
        .users(&admin)
        .end_employment(EndEmploymentRequest {
            employment_id: leeds_job.clone(),
            ends_at: None,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&main_refused), "MAIN_ACCOUNT", "{main_refused:?}");
    platform
        .users(&admin)
        .set_main_account(SetMainAccountRequest {
            employment_id: guest_job,
        })
        .await
        .unwrap();
    let ended = platform
        .users(&admin)
        .end_employment(EndEmploymentRequest {
            employment_id: leeds_job,
            ends_at: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !platform
            .allowed(&lara, "users.read", pat, ended.written_at)
            .await,
        "once the employment ended the location no longer reaches them"
    );
}

#[tokio::test]
async fn anonymising_erases_personal_data_keeps_the_record_and_allows_nothing() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let id = platform.create_user(&admin, "gone@example.org", "").await;
    let token = platform
        .sign_in("gone@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let anonymised = platform
        .users(&admin)
        .anonymise_user(AnonymiseUserRequest {
            user_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let user = anonymised.user.unwrap();
    assert_eq!(user.user_id, id, "the id stays");
    assert_eq!(user.status, UserStatus::Anonymised as i32);
    assert!(user.email.is_empty() && user.given_name.is_empty() && user.family_name.is_empty());
    assert_eq!(user.employments.len(), 1, "the history stays");
    assert!(
        !platform
            .allowed(
                &token,
                "users.read",
                object(ObjectType::User, &id),
                anonymised.written_at
            )
            .await
    );
    let sign_in = platform
        .sign_in("gone@example.org", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(sign_in.code(), Code::Unauthenticated);
    let again = platform
        .users(&admin)
        .anonymise_user(AnonymiseUserRequest { user_id: id })
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "ANONYMISED");
    // The address is free for someone new.
    platform.create_user(&admin, "gone@example.org", "").await;
}

#[tokio::test]
async fn a_student_cannot_add_an_employment_at_another_account_for_themself() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let other = platform
        .units(&admin)
        .create_unit(CreateUnitRequest {
            kind: UnitKind::CustomerAccount as i32,
            name: "Rival Ltd".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .unit_id;
    let me = platform.create_user(&admin, "stu@example.org", "").await;
    let token = platform
        .sign_in("stu@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let refused = platform
        .users(&token)
        .add_employment(AddEmploymentRequest {
            user_id: me.clone(),
            unit_id: other.clone(),
            main_account: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ADMINISTRATOR_REQUIRED".into())
    );
    assert!(
        refused.message().contains("administrator"),
        "the refusal says who does it: {refused:?}"
    );
    assert_eq!(
        platform.user(&admin, &me).await.employments.len(),
        1,
        "only the employment the administrator made"
    );

    // An administrator may move them.
    platform
        .users(&admin)
        .add_employment(AddEmploymentRequest {
            user_id: me.clone(),
            unit_id: other,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(platform.user(&admin, &me).await.employments.len(), 2);
}
