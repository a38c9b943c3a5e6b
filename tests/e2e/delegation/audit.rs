//! Delegation's audit trail, read back: what an administrator did to a course (created it,
//! gave it a tutor, enrolled someone) is listed newest first naming them, one object's records
//! on their own, to holders of `audit.read` in the tenant only.

use lms_api::delegation::v1::delegation_audit_service_client::DelegationAuditServiceClient;
use lms_api::delegation::v1::{
    AuditRecord, CreateCourseRequest, EnrolRequest, ListAuditRecordsRequest,
    ListAuditRecordsResponse,
};
use tonic::Code;

use super::fixture::{Platform, fields, reason};
use super::responsibilities::give;

async fn trail(
    p: &Platform,
    token: &str,
    request: ListAuditRecordsRequest,
) -> Result<ListAuditRecordsResponse, tonic::Status> {
    DelegationAuditServiceClient::new(p.delegation.authorized(token))
        .list_audit_records(request)
        .await
        .map(tonic::Response::into_inner)
}

/// One object's records, newest first.
fn about(object_type: &str, object_id: &str) -> ListAuditRecordsRequest {
    ListAuditRecordsRequest {
        object_type: object_type.into(),
        object_id: object_id.into(),
        ..Default::default()
    }
}

/// What each record says happened, to what: `(action, "type:id")`.
fn actions(records: &[AuditRecord]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                format!("{}:{}", r.object_type, r.object_id),
            )
        })
        .collect()
}

fn owned(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, o)| ((*a).to_owned(), o.clone()))
        .collect()
}

#[tokio::test]
async fn the_trail_lists_an_administrator_s_changes_newest_first_to_the_tenant_s_auditors_only() {
    let p = Platform::start().await;
    let course = p
        .courses(&p.admin)
        .create_course(CreateCourseRequest {
            title: "Audited".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id;
    let (tutor, _) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &course, &tutor).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let enrolment = p
        .enrolments(&p.admin)
        .enrol(EnrolRequest {
            course_id: course.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .enrolments
        .remove(0)
        .enrolment_id;

    // Everything, newest first, each naming the administrator who did it.
    let all = trail(&p, &p.admin, ListAuditRecordsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        actions(&all.records),
        owned(&[
            ("enrolment.enrolled", format!("enrolment:{enrolment}")),
            (
                "responsibility.given",
                format!("responsibility:course_tutor:{course}:{tutor}")
            ),
            ("course.created", format!("course:{course}")),
        ])
    );
    assert!(all.next_page_token.is_empty());
    for record in &all.records {
        assert_eq!(record.actor_user_id, p.admin_id, "{record:?}");
        assert!(record.actor_service.is_empty(), "{record:?}");
        assert!(record.at.is_some(), "{record:?}");
    }
    assert!(
        all.records
            .windows(2)
            .all(|pair| pair[0].sequence > pair[1].sequence)
    );
    let enrolled: serde_json::Value = serde_json::from_str(&all.records[0].after_json).unwrap();
    assert_eq!(enrolled["user_id"], learner.as_str());
    assert_eq!(enrolled["course_id"], course.as_str());

    // One object's records alone.
    let on_course = trail(&p, &p.admin, about("course", &course)).await.unwrap();
    assert_eq!(
        actions(&on_course.records),
        owned(&[("course.created", format!("course:{course}"))])
    );
    let on_enrolment = trail(&p, &p.admin, about("enrolment", &enrolment))
        .await
        .unwrap();
    assert_eq!(on_enrolment.records.len(), 1);
    assert_eq!(on_enrolment.records[0].action, "enrolment.enrolled");

    // Pages of two: the second starts below the first and is the last.
    let first = trail(
        &p,
        &p.admin,
        ListAuditRecordsRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(actions(&first.records), actions(&all.records[..2]));
    let second = trail(
        &p,
        &p.admin,
        ListAuditRecordsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(actions(&second.records), actions(&all.records[2..]));
    assert!(second.next_page_token.is_empty());

    // Half an object, or a token not from a listing, names the field.
    let half = trail(&p, &p.admin, about("", &course)).await.unwrap_err();
    assert_eq!(half.code(), Code::InvalidArgument);
    assert_eq!(fields(&half), ["object_type"]);
    let forged = ListAuditRecordsRequest {
        page_token: "next".into(),
        ..Default::default()
    };
    let forged = trail(&p, &p.admin, forged).await.unwrap_err();
    assert_eq!(fields(&forged), ["page_token"]);

    // A learner may not read the trail, not even about their own enrolment.
    let refused = trail(&p, &learner_token, about("enrolment", &enrolment))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(reason(&refused), "PERMISSION_MISSING");
    assert!(refused.message().contains("audit.read"), "{refused:?}");

    // Another tenant's administrator reads their own tenant's trail: none of this is in it,
    // even when they name the course.
    let (_, stranger) = p
        .another_tenant("Other Academy", "admin@other.example")
        .await;
    let theirs = trail(&p, &stranger, ListAuditRecordsRequest::default())
        .await
        .unwrap();
    assert!(theirs.records.is_empty(), "{:?}", theirs.records);
    let named = trail(&p, &stranger, about("course", &course))
        .await
        .unwrap();
    assert!(named.records.is_empty(), "{:?}", named.records);
}
