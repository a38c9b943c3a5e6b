//! Scoped reports end to end: identity and delegation publish to Redis, reporting projects
//! their events and answers each caller's progress report with exactly the rows their grants
//! reach, from the administrator's whole tenant down to a learner's own enrolments.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, Relation, RevokeRoleRequest, SetMainRoleRequest,
};
use lms_api::delegation::v1::EnrolRequest;
use lms_api::delegation::v1::{
    AcceptInvitationRequest, CancelEventRequest, CancelInvitationRequest, CreateCourseRequest,
    CreateLessonRequest, DecideEnrolmentRequestRequest, DeleteCourseRequest, GrantContentRequest,
    InviteLearnerRequest, ListInvitationsRequest, RequestEnrolmentRequest,
    SignOffCompetencyRequest, WithdrawRequest,
};
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::unit_service_client::UnitServiceClient;
use lms_api::identity::v1::{
    AccountKind, AddEmploymentRequest, AnonymiseUserRequest, EndEmploymentRequest,
    RejectAccountRequest, RenameGroupRequest, RenameUnitRequest, TenantSettings,
    UpdateTenantSettingsRequest,
};
use lms_api::reporting::v1::report_service_client::ReportServiceClient;
use lms_api::reporting::v1::{
    AttendanceRow, ExportFormat, ExportLearnerProgressRequest, GetTenantSummaryRequest,
    LearnerProgressRow, ListAttendanceRequest, ListCompetencySignOffsRequest,
    ListEnrolmentRequestsRequest, ListLearnerProgressRequest, ListPurchasesRequest, ProgressOrder,
    PurchaseRow,
};
use tonic::Code;

use super::enrolments::course;
use super::events::{book, course as unit_course, event};
use super::fixture::{Platform, fields};
use super::purchases::{order, place};
use super::responsibilities::give;

/// How long a change may take to reach a report (the stream, the projection) here.
const LAG: Duration = Duration::from_secs(20);

async fn report(
    p: &Platform,
    token: &str,
    request: ListLearnerProgressRequest,
) -> Result<(Vec<LearnerProgressRow>, String), tonic::Status> {
    let reporting = p.reporting.as_ref().expect("started with reporting");
    let answer = ReportServiceClient::new(reporting.authorized(token))
        .list_learner_progress(request)
        .await?
        .into_inner();
    Ok((answer.rows, answer.next_page_token))
}

/// Every row of `token`'s progress report, page after page.
async fn every_row(p: &Platform, token: &str) -> Vec<LearnerProgressRow> {
    try_every_row(p, token).await.unwrap()
}

async fn try_every_row(
    p: &Platform,
    token: &str,
) -> Result<Vec<LearnerProgressRow>, tonic::Status> {
    let (mut rows, mut next) = (Vec::new(), String::new());
    loop {
        let (page, token_of_next) = report(
            p,
            token,
            ListLearnerProgressRequest {
                page_size: 2,
                page_token: next,
                ..Default::default()
            },
        )
        .await?;
        assert!(page.len() <= 2);
        rows.extend(page);
        if token_of_next.is_empty() {
            return Ok(rows);
        }
        next = token_of_next;
    }
}

/// `token`'s export in `format`: the file, and whether its last chunk said it is complete.
async fn export(
    p: &Platform,
    token: &str,
    format: ExportFormat,
) -> Result<(String, bool), tonic::Status> {
    let reporting = p.reporting.as_ref().expect("started with reporting");
    let mut stream = ReportServiceClient::new(reporting.authorized(token))
        .export_learner_progress(ExportLearnerProgressRequest {
            query: None,
            format: format as i32,
        })
        .await?
        .into_inner();
    let (mut file, mut complete) = (Vec::new(), false);
    while let Some(chunk) = stream.message().await? {
        assert!(!complete, "nothing follows the last chunk");
        assert!(chunk.rows_sent <= chunk.rows_total);
        file.extend(chunk.data);
        complete = chunk.complete;
    }
    Ok((String::from_utf8(file).unwrap(), complete))
}

/// The (learner, course) pairs of a report.
fn pairs(rows: &[LearnerProgressRow]) -> BTreeSet<(String, String)> {
    rows.iter()
        .map(|row| (row.user_id.clone(), row.course_id.clone()))
        .collect()
}

/// Waits until `token`'s report satisfies `done`, and answers its rows (a reporting just
/// started may refuse tokens until it holds identity's keys).
async fn eventually(
    p: &Platform,
    token: &str,
    done: impl Fn(&[LearnerProgressRow]) -> bool,
) -> Vec<LearnerProgressRow> {
    let started = Instant::now();
    loop {
        let rows = try_every_row(p, token).await;
        if let Ok(rows) = &rows
            && done(rows)
        {
            return rows.clone();
        }
        assert!(
            started.elapsed() < LAG,
            "the report did not catch up within {LAG:?}: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The administrator's tenant summary: learners by state over every course.
async fn tenant_total(p: &Platform) -> lms_api::reporting::v1::ProgressTotals {
    let summary = ReportServiceClient::new(p.reporting.as_ref().unwrap().authorized(&p.admin))
        .get_tenant_summary(GetTenantSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    summary.total.unwrap()
}

/// Waits until `holds` answers true, failing after [`LAG`] and naming `what` was awaited.
async fn wait_for<F, Fut>(what: &str, mut holds: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !holds().await {
        assert!(
            started.elapsed() < LAG,
            "{what} did not happen within {LAG:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn enrol(p: &Platform, course: &str, users: &[&String]) {
    p.enrolments(&p.admin)
        .enrol(EnrolRequest {
            course_id: course.into(),
            user_ids: users.iter().map(|u| (*u).clone()).collect(),
        })
        .await
        .unwrap();
}

fn pair(user: &str, course: &str) -> (String, String) {
    (user.to_owned(), course.to_owned())
}

#[tokio::test]
async fn each_caller_sees_exactly_the_progress_their_grants_reach() {
    let p = Platform::with_reporting().await;
    let safety = course(&p, "Safety", false).await;
    let fire = course(&p, "Fire", false).await;
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &safety, &tutor).await;
    let (manager, manager_token) = p
        .person("manager@academy.example", Some("builtin:manager"), None)
        .await;
    let (ann, ann_token) = p.person("ann@academy.example", None, None).await;
    let (bob, _) = p.person("bob@academy.example", None, None).await;
    let (olga, olga_token) = p.person("olga@academy.example", None, None).await;
    p.team(&manager, &[ann.clone(), bob.clone()]).await;
    let location = p.location.clone();
    let (_, local_token) = p
        .person(
            "local@academy.example",
            Some("builtin:local_administrator"),
            Some(&location),
        )
        .await;
    let (lee, _) = p.person("lee@academy.example", None, Some(&location)).await;
    let (_, reports_only_token) = p
        .person(
            "ro@academy.example",
            Some("builtin:organization_administrator_reports_only"),
            None,
        )
        .await;
    enrol(&p, &safety, &[&ann, &bob, &olga]).await;
    enrol(&p, &fire, &[&ann, &lee]).await;

    let everyone = BTreeSet::from([
        pair(&ann, &safety),
        pair(&bob, &safety),
        pair(&olga, &safety),
        pair(&ann, &fire),
        pair(&lee, &fire),
    ]);
    let rows = eventually(&p, &p.admin, |rows| pairs(rows) == everyone).await;
    let ann_on_safety = rows
        .iter()
        .find(|row| row.user_id == ann && row.course_id == safety)
        .unwrap();
    assert_eq!(ann_on_safety.course_title, "Safety");
    assert_eq!(ann_on_safety.email, "ann@academy.example");
    assert!(!ann_on_safety.display_name.is_empty());

    // The tenant summary: running totals by course and state, for those who see whole courses.
    let reporting = p.reporting.as_ref().unwrap();
    let summary = |token: &str| {
        let mut client = ReportServiceClient::new(reporting.authorized(token));
        async move {
            client
                .get_tenant_summary(GetTenantSummaryRequest::default())
                .await
                .unwrap()
                .into_inner()
        }
    };
    let whole = summary(&p.admin).await;
    assert_eq!(whole.total.as_ref().unwrap().not_started, 5);
    let titles: BTreeSet<(String, i64)> = whole
        .courses
        .iter()
        .map(|c| (c.course_title.clone(), c.not_started))
        .collect();
    assert_eq!(
        titles,
        BTreeSet::from([("Fire".to_owned(), 2), ("Safety".to_owned(), 3)])
    );
    let tutored = summary(&tutor_token).await;
    assert_eq!(tutored.courses.len(), 1);
    assert_eq!(tutored.courses[0].course_id, safety);
    // A manager sees their team, not whole courses: no totals.
    let team = summary(&manager_token).await;
    assert!(team.courses.is_empty() && team.total.is_none());

    // The Reports Only twin reads what its counterpart reads.
    assert_eq!(pairs(&every_row(&p, &reports_only_token).await), everyone);
    // The manager: their team, on every course.
    assert_eq!(
        pairs(&every_row(&p, &manager_token).await),
        BTreeSet::from([pair(&ann, &safety), pair(&bob, &safety), pair(&ann, &fire)])
    );
    // The tutor: every learner of the course they tutor, nobody else's course.
    assert_eq!(
        pairs(&every_row(&p, &tutor_token).await),
        BTreeSet::from([
            pair(&ann, &safety),
            pair(&bob, &safety),
            pair(&olga, &safety)
        ])
    );
    // The Local Administrator: the people employed at their location.
    assert_eq!(
        pairs(&every_row(&p, &local_token).await),
        BTreeSet::from([pair(&lee, &fire)])
    );
    // A learner: their own enrolments, never a fellow learner's.
    assert_eq!(
        pairs(&every_row(&p, &ann_token).await),
        BTreeSet::from([pair(&ann, &safety), pair(&ann, &fire)])
    );
    assert_eq!(
        pairs(&every_row(&p, &olga_token).await),
        BTreeSet::from([pair(&olga, &safety)])
    );

    // Filters narrow inside the scope, never widen it.
    let (rows, _) = report(
        &p,
        &manager_token,
        ListLearnerProgressRequest {
            course_id: safety.clone(),
            order: ProgressOrder::Course as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        pairs(&rows),
        BTreeSet::from([pair(&ann, &safety), pair(&bob, &safety)])
    );
    let (rows, _) = report(
        &p,
        &olga_token,
        ListLearnerProgressRequest {
            user_id: ann.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(rows.is_empty(), "{rows:?}");

    // An anonymised learner stays in the report, without name or e-mail.
    p.users(&p.admin)
        .anonymise_user(AnonymiseUserRequest {
            user_id: bob.clone(),
        })
        .await
        .unwrap();
    let rows = eventually(&p, &p.admin, |rows| {
        rows.iter()
            .any(|row| row.user_id == bob && row.display_name.is_empty())
    })
    .await;
    assert_eq!(pairs(&rows), everyone);
    let bob_row = rows.iter().find(|row| row.user_id == bob).unwrap();
    assert_eq!(bob_row.email, "");

    // Competency sign-offs: the tutor signs Ann off on Safety; the manager (Ann's team), the
    // tutor (the course) and Ann see it, Olga does not.
    p.competencies(&tutor_token)
        .sign_off_competency(SignOffCompetencyRequest {
            course_id: safety.clone(),
            user_id: ann.clone(),
            note: "Evacuation drill led".into(),
        })
        .await
        .unwrap();
    let signed_off = |token: &str| {
        let mut client = ReportServiceClient::new(reporting.authorized(token));
        async move {
            client
                .list_competency_sign_offs(ListCompetencySignOffsRequest::default())
                .await
                .map(|answer| answer.into_inner().rows)
        }
    };
    let started = Instant::now();
    while signed_off(&p.admin).await.map(|rows| rows.len()).ok() != Some(1) {
        assert!(started.elapsed() < LAG, "the sign-off did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for token in [&manager_token, &tutor_token, &ann_token] {
        let rows = signed_off(token).await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].user_id.as_str(), rows[0].course_title.as_str()),
            (ann.as_str(), "Safety")
        );
        assert_eq!(rows[0].note, "Evacuation drill led");
        assert_eq!(rows[0].tenant_id, p.tenant);
    }
    assert!(signed_off(&olga_token).await.unwrap().is_empty());

    // Exports: the whole report as a file, for those who hold reports.export.
    let (csv, complete) = export(&p, &p.admin, ExportFormat::Csv).await.unwrap();
    assert!(complete);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("tenant_id,user_id,display_name,email"),
        "{csv}"
    );
    assert_eq!(lines.len(), 1 + everyone.len(), "{csv}");
    assert!(csv.contains("ann@academy.example") && csv.contains("Safety"));
    let (json, complete) = export(&p, &local_token, ExportFormat::JsonLines)
        .await
        .unwrap();
    assert!(complete);
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["user_id"], lee.as_str());
    // A learner and a manager read reports but export none.
    for token in [&ann_token, &manager_token] {
        let refused = export(&p, token, ExportFormat::Csv).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }

    // Enrolment requests: Olga asks to join a course that needs approval; its tutor, the
    // administrator and Olga see the request waiting, the manager (not Olga's) does not; once
    // the tutor approves, the report says so.
    let chemistry = course(&p, "Chemistry", true).await;
    give(&p, &p.admin, "course_tutor", &chemistry, &tutor).await;
    // Offered to Olga through a catalogue, so she finds it and may ask.
    p.offer(&chemistry, std::slice::from_ref(&olga)).await;
    let asked = p
        .enrolments(&olga_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: chemistry.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .request
        .unwrap();
    let tenant = &p.tenant;
    let requests = |token: &str| {
        let mut client = ReportServiceClient::new(reporting.authorized(token));
        async move {
            client
                .list_enrolment_requests(ListEnrolmentRequestsRequest::default())
                .await
                .map(|answer| {
                    answer
                        .into_inner()
                        .rows
                        .into_iter()
                        .map(|row| {
                            assert_eq!(&row.tenant_id, tenant);
                            (row.user_id, row.status)
                        })
                        .collect::<Vec<_>>()
                })
        }
    };
    let waiting = vec![(olga.clone(), "requested".to_owned())];
    let started = Instant::now();
    while requests(&p.admin).await.ok() != Some(waiting.clone()) {
        assert!(started.elapsed() < LAG, "the request did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(requests(&tutor_token).await.unwrap(), waiting);
    assert_eq!(requests(&olga_token).await.unwrap(), waiting);
    assert!(requests(&manager_token).await.unwrap().is_empty());
    p.enrolments(&tutor_token)
        .decide_enrolment_request(DecideEnrolmentRequestRequest {
            request_id: asked.request_id,
            approve: true,
        })
        .await
        .unwrap();
    let approved = vec![(olga.clone(), "approved".to_owned())];
    let started = Instant::now();
    while requests(&tutor_token).await.ok() != Some(approved.clone()) {
        assert!(started.elapsed() < LAG, "the decision did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_report_arguments_name_the_field() {
    let p = Platform::with_reporting().await;
    for (request, field) in [
        (
            ListLearnerProgressRequest {
                course_id: "not-a-course".into(),
                ..Default::default()
            },
            "course_id",
        ),
        (
            ListLearnerProgressRequest {
                group_id: "x".into(),
                ..Default::default()
            },
            "group_id",
        ),
        (
            ListLearnerProgressRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            ListLearnerProgressRequest {
                state: 99,
                ..Default::default()
            },
            "state",
        ),
    ] {
        let refused = report(&p, &p.admin, request).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), [field]);
    }
}

#[tokio::test]
async fn a_master_reports_on_its_clients_people_only_while_clients_are_on() {
    let p = Platform::with_reporting().await;
    let linked = p.master_and_client().await;
    let (learner, _) = p
        .person_in(
            &linked.client,
            &linked.client_admin,
            "learner@client.example",
            None,
            None,
        )
        .await;
    let course = p
        .courses(&linked.client_admin)
        .create_course(CreateCourseRequest {
            title: "Client onboarding".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id;
    p.enrolments(&linked.client_admin)
        .enrol(EnrolRequest {
            course_id: course.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap();
    let theirs = BTreeSet::from([pair(&learner, &course)]);
    // The client's own administrator, and the master's, who reaches its clients.
    eventually(&p, &linked.client_admin, |rows| pairs(rows) == theirs).await;
    let rows = eventually(&p, &linked.master_admin, |rows| pairs(rows) == theirs).await;
    assert_eq!(rows[0].tenant_id, linked.client);
    assert_eq!(rows[0].course_title, "Client onboarding");
    // Another tenant's administrator sees nothing of the client.
    assert!(every_row(&p, &p.admin).await.is_empty());

    // With clients switched off, the master reaches its own tenant only.
    TenantServiceClient::new(p.identity.authorized(&linked.master_admin))
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                clients_enabled: false,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["clients_enabled".into()],
            }),
        })
        .await
        .unwrap();
    assert!(every_row(&p, &linked.master_admin).await.is_empty());
    assert_eq!(pairs(&every_row(&p, &linked.client_admin).await), theirs);
}

/// Every row of `token`'s purchases report.
async fn purchases(p: &Platform, token: &str) -> Vec<PurchaseRow> {
    let reporting = p.reporting.as_ref().expect("started with reporting");
    let mut client = ReportServiceClient::new(reporting.authorized(token));
    let (mut rows, mut page_token) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_purchases(ListPurchasesRequest {
                page_size: 1,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        rows.extend(page.rows);
        if page.next_page_token.is_empty() {
            return rows;
        }
        page_token = page.next_page_token;
    }
}

/// An order's shop id and seats bought, waiting, taken and free, as a purchases row shows them.
fn seats(row: &PurchaseRow) -> (&str, i32, i32, i32, i32) {
    (
        row.shop_order_id.as_str(),
        row.seats,
        row.waiting,
        row.taken,
        row.free,
    )
}

#[tokio::test]
async fn a_purchaser_reports_on_the_invitees_who_accepted_and_no_one_else() {
    let p = Platform::with_reporting().await;
    let forklift = course(&p, "Forklift licence", false).await;
    let shop = p
        .operator_integration("shop", &["delegation.orders.place"])
        .await;
    let (solo, solo_token) = p.person("solo@academy.example", None, None).await;
    let (boss, boss_token) = p.person("boss@academy.example", None, None).await;
    let (known, known_token) = p.person("known@academy.example", None, None).await;
    // Solo buys a seat for themselves; the boss buys three and invites Known, who accepts.
    place(
        &p,
        &shop,
        order("1001", &forklift, "solo@academy.example", 1),
    )
    .await
    .unwrap();
    let bought = place(
        &p,
        &shop,
        order("1002", &forklift, "boss@academy.example", 3),
    )
    .await
    .unwrap()
    .order
    .unwrap();
    let invited = p
        .purchases(&boss_token)
        .invite_learner(InviteLearnerRequest {
            order_id: bought.order_id.clone(),
            email: "known@academy.example".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let everyone = BTreeSet::from([pair(&solo, &forklift), pair(&known, &forklift)]);
    assert!(every_row(&p, &boss_token).await.is_empty());
    p.purchases(&known_token)
        .accept_invitation(AcceptInvitationRequest {
            code: invited.code,
            invitation_id: String::new(),
        })
        .await
        .unwrap();
    eventually(&p, &p.admin, |rows| pairs(rows) == everyone).await;
    // The Purchaser: their invitee only, though Solo learns on the same course.
    eventually(&p, &boss_token, |rows| {
        pairs(rows) == BTreeSet::from([pair(&known, &forklift)])
    })
    .await;
    assert_eq!(
        pairs(&every_row(&p, &solo_token).await),
        BTreeSet::from([pair(&solo, &forklift)])
    );

    // The purchases report: seats bought, waiting, taken and free, newest first. One more
    // invitation waits; one sent and withdrawn frees its seat again.
    let mut boss_shop = p.purchases(&boss_token);
    for email in ["later@academy.example", "withdrawn@academy.example"] {
        boss_shop
            .invite_learner(InviteLearnerRequest {
                order_id: bought.order_id.clone(),
                email: email.into(),
            })
            .await
            .unwrap();
    }
    let withdrawn = boss_shop
        .list_invitations(ListInvitationsRequest {
            order_id: bought.order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .invitations
        .into_iter()
        .find(|i| i.email == "withdrawn@academy.example")
        .unwrap();
    boss_shop
        .cancel_invitation(CancelInvitationRequest {
            invitation_id: withdrawn.invitation_id,
        })
        .await
        .unwrap();
    wait_for("the purchases report", || async {
        purchases(&p, &p.admin)
            .await
            .iter()
            .map(seats)
            .collect::<Vec<_>>()
            == [("1002", 3, 1, 1, 1), ("1001", 1, 0, 0, 0)]
    })
    .await;
    let rows = purchases(&p, &p.admin).await;
    assert_eq!(rows[0].course_title, "Forklift licence");
    assert_eq!(
        (
            rows[0].buyer_user_id.as_str(),
            rows[0].buyer_display_name.as_str()
        ),
        (boss.as_str(), "Delegation Person")
    );
    // The course's tutor reports on its learners, and sees no order: a Purchaser is no learner.
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &forklift, &tutor).await;
    eventually(&p, &tutor_token, |rows| pairs(rows) == everyone).await;
    assert!(purchases(&p, &tutor_token).await.is_empty());
    // Each buyer sees their own order; nobody else's.
    let own = |rows: Vec<PurchaseRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.shop_order_id).collect()
    };
    assert_eq!(own(purchases(&p, &boss_token).await), ["1002"]);
    assert_eq!(own(purchases(&p, &solo_token).await), ["1001"]);
    assert!(purchases(&p, &known_token).await.is_empty());
}

#[tokio::test]
async fn changes_made_while_reporting_is_down_appear_once_when_it_is_back() {
    let mut p = Platform::with_reporting().await;
    let safety = course(&p, "Safety", false).await;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cid", "dee", "eve"] {
        people.push(
            p.person(&format!("{name}@academy.example"), None, None)
                .await
                .0,
        );
    }
    enrol(&p, &safety, &[&people[0], &people[1], &people[2]]).await;
    eventually(&p, &p.admin, |rows| rows.len() == 3).await;

    p.stop_reporting().await;
    enrol(&p, &safety, &[&people[3], &people[4]]).await;
    p.enrolments(&p.admin)
        .withdraw(WithdrawRequest {
            course_id: safety.clone(),
            user_id: people[0].clone(),
        })
        .await
        .unwrap();
    p.start_reporting().await;

    let expected: BTreeSet<_> = people[1..]
        .iter()
        .map(|person| pair(person, &safety))
        .collect();
    eventually(&p, &p.admin, |rows| pairs(rows) == expected).await;
    // Each change counted once: the running totals match the enrolments, and no event twice.
    let total = tenant_total(&p).await;
    assert_eq!((total.not_started, total.withdrawn), (4, 1), "{total:?}");
    let reporting = sqlx::PgPool::connect(p.reporting_database_url())
        .await
        .unwrap();
    let enrolments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projected_enrolments")
        .fetch_one(&reporting)
        .await
        .unwrap();
    assert_eq!(enrolments, 5);
}

#[tokio::test]
async fn a_stream_trimmed_past_unread_changes_is_restored_by_the_rebuild() {
    let mut p = Platform::with_reporting().await;
    let safety = course(&p, "Safety", false).await;
    let fire = course(&p, "Fire", false).await;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cid"] {
        people.push(
            p.person(&format!("{name}@academy.example"), None, None)
                .await
                .0,
        );
    }
    let (ann, bob, cid) = (&people[0], &people[1], &people[2]);
    enrol(&p, &safety, &[ann, bob]).await;
    eventually(&p, &p.admin, |rows| rows.len() == 2).await;
    let reporting = sqlx::PgPool::connect(p.reporting_database_url())
        .await
        .unwrap();
    let courses = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT course_id FROM projected_courses WHERE NOT removed ORDER BY title",
        )
        .fetch_all(&reporting)
        .await
        .unwrap()
    };
    assert_eq!(courses().await, [fire.clone(), safety.clone()]);

    // While reporting is down: a learner joins, one withdraws, one is anonymised, a course is
    // erased; then the streams are trimmed past all of it.
    p.stop_reporting().await;
    enrol(&p, &safety, &[cid]).await;
    p.enrolments(&p.admin)
        .withdraw(WithdrawRequest {
            course_id: safety.clone(),
            user_id: ann.clone(),
        })
        .await
        .unwrap();
    p.users(&p.admin)
        .anonymise_user(AnonymiseUserRequest {
            user_id: bob.clone(),
        })
        .await
        .unwrap();
    p.courses(&p.admin)
        .delete_course(DeleteCourseRequest {
            course_id: fire.clone(),
        })
        .await
        .unwrap();
    p.trim_streams().await;
    p.start_reporting().await;

    // Reporting cannot know: it still shows what it last read.
    let rows = eventually(&p, &p.admin, |rows| rows.len() == 2).await;
    assert_eq!(
        pairs(&rows),
        [pair(ann, &safety), pair(bob, &safety)].into()
    );
    assert!(
        rows.iter().all(|row| !row.display_name.is_empty()),
        "{rows:?}"
    );

    let resent = p.rebuild_reporting(&p.tenant).await;
    // The administrator, the three learners; the course and three enrolments.
    assert_eq!((resent.people, resent.records), (4, 4), "{resent:?}");
    // The withdrawn enrolment leaves the report (and counts as withdrawn below).
    let rows = eventually(&p, &p.admin, |rows| {
        pairs(rows) == [pair(bob, &safety), pair(cid, &safety)].into()
            && rows
                .iter()
                .any(|row| row.user_id == *bob && row.display_name.is_empty())
    })
    .await;
    assert!(
        rows.iter()
            .all(|row| row.email.is_empty() == (row.user_id == *bob))
    );
    // The erased course is gone (once delegation's closing mark is applied), and the running
    // totals were counted again.
    wait_for("the erased course's removal", || async {
        courses().await == [safety.clone()]
    })
    .await;
    let total = tenant_total(&p).await;
    assert_eq!((total.not_started, total.withdrawn), (2, 1), "{total:?}");

    // Running it again changes nothing, once both owners' closing marks are applied.
    let rebuilt_from = || async {
        sqlx::query_as::<_, (String, String, i64)>(
            "SELECT service, topic, from_sequence FROM projection_rebuilds ORDER BY service, topic",
        )
        .fetch_all(&reporting)
        .await
        .unwrap()
    };
    let first = rebuilt_from().await;
    // Identity's people, units and groups, and facts; who holds which role; delegation's seven
    // kinds of record and its facts.
    assert_eq!(first.len(), 12, "{first:?}");
    p.rebuild_reporting(&p.tenant).await;
    wait_for("the second rebuild", || async {
        rebuilt_from()
            .await
            .iter()
            .zip(&first)
            .all(|(now, before)| now.2 > before.2)
    })
    .await;
    let again = every_row(&p, &p.admin).await;
    assert_eq!(again, rows);
    assert_eq!(courses().await, std::slice::from_ref(&safety));
}

/// A fact as reporting holds it: resource (type, id), relation, subject (type, id), window.
type IdentityFact = (i16, String, i16, i16, String, Option<i64>, Option<i64>);

/// Waits until reporting applied `count` closing marks of `service`'s rebuilds of `topic`.
async fn wait_rebuilt(reporting: &sqlx::PgPool, service: &str, topic: &str, count: i64) {
    wait_for(&format!("{service}'s rebuilds of {topic}"), || async {
        let marked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM projection_rebuilds WHERE service = $1 AND topic = $2",
        )
        .bind(service)
        .bind(topic)
        .fetch_one(reporting)
        .await
        .unwrap();
        marked == count
    })
    .await;
}

/// Identity's facts and statuses as reporting holds them (present ones, without sequences).
async fn identity_facts(reporting: &sqlx::PgPool) -> (Vec<IdentityFact>, Vec<(String, i16)>) {
    let facts = sqlx::query_as(
        "SELECT resource_type, resource_id, relation, subject_type, subject_id, valid_from, \
         valid_until FROM projected_facts WHERE service = 'identity' AND present \
         ORDER BY resource_type, resource_id, relation, subject_type, subject_id",
    )
    .fetch_all(reporting)
    .await
    .unwrap();
    // A deleted account's status (anonymised) is not re-sent, its row being gone; reports
    // leave removed people out all the same.
    let statuses = sqlx::query_as(
        "SELECT s.user_id, s.status FROM projected_statuses s \
         JOIN projected_people p ON p.tenant_id = s.tenant_id AND p.user_id = s.user_id \
         WHERE s.service = 'identity' AND NOT p.removed ORDER BY s.user_id",
    )
    .fetch_all(reporting)
    .await
    .unwrap();
    (facts, statuses)
}

#[tokio::test]
async fn a_rebuild_re_sends_identitys_facts_as_they_stand() {
    let p = Platform::with_reporting().await;
    let (max, _) = p
        .person("max@academy.example", Some("builtin:manager"), None)
        .await;
    let (ann, _) = p
        .person("ann@academy.example", None, Some(&p.location))
        .await;
    let (bob, _) = p.person("bob@academy.example", None, None).await;
    let (cid, _) = p.person("cid@academy.example", None, None).await;
    p.team(&max, &[ann.clone(), bob.clone()]).await;
    // Cid worked at the location once and was rehired there; ending the old employment again
    // keeps the rehire: one fact, over both.
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let employ = |ends_at: Option<i64>| AddEmploymentRequest {
        user_id: cid.clone(),
        unit_id: p.location.clone(),
        starts_at: at(1_000_000),
        ends_at: ends_at.and_then(at),
        main_account: false,
    };
    let mut users = p.users(&p.admin);
    let old = users
        .add_employment(employ(Some(2_000_000)))
        .await
        .unwrap()
        .into_inner();
    users.add_employment(employ(None)).await.unwrap();
    users
        .end_employment(EndEmploymentRequest {
            employment_id: old.employment.unwrap().employment_id,
            ends_at: at(1_500_000),
        })
        .await
        .unwrap();
    // An applicant put in a group, then rejected: the account goes, and its facts with it.
    let ivy = p
        .applicant("ivy@academy.example", AccountKind::Teacher)
        .await;
    p.group("Readers", &[cid.clone(), ann.clone(), ivy.clone()])
        .await;
    p.approvals(&p.admin)
        .reject_account(RejectAccountRequest {
            user_id: ivy.clone(),
            reason: "Not a teacher here".into(),
            at_least_as_fresh: None,
        })
        .await
        .unwrap();
    p.settle_reporting().await;
    let reporting = sqlx::PgPool::connect(p.reporting_database_url())
        .await
        .unwrap();
    let before = identity_facts(&reporting).await;
    let directory_before = directory(&reporting).await;
    assert!(
        directory_before.iter().any(|unit| unit.1 == "North"),
        "{directory_before:?}"
    );
    // Units, employments, the team (manager, primary members), the group, the coordinator.
    let relations: BTreeSet<i16> = before.0.iter().map(|fact| fact.2).collect();
    for relation in [2, 3, 4, 5, 6, 18, 19] {
        assert!(relations.contains(&relation), "{relation}: {before:?}");
    }
    assert!(!before.0.iter().any(|fact| fact.4 == ivy), "{before:?}");
    let cid_there: Vec<_> = before
        .0
        .iter()
        .filter(|fact| fact.1 == p.location && fact.2 == 2 && fact.4 == cid)
        .map(|fact| (fact.5, fact.6))
        .collect();
    assert_eq!(cid_there, [(Some(1_000_000), None)]);

    p.rebuild_reporting(&p.tenant).await;
    wait_rebuilt(&reporting, "identity", "authorization.facts", 1).await;
    // Every fact was re-sent (none swept that still holds), and nothing more; units and
    // groups too.
    assert_eq!(identity_facts(&reporting).await, before);
    assert_eq!(directory(&reporting).await, directory_before);
}

/// Units and groups as reporting keeps them: (id, name, removed).
async fn directory(reporting: &sqlx::PgPool) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "SELECT unit_id, name, removed FROM projected_units \
         UNION ALL SELECT group_id, name, removed FROM projected_groups ORDER BY 1",
    )
    .fetch_all(reporting)
    .await
    .unwrap()
}

#[tokio::test]
async fn progress_rows_name_each_learners_team_and_unit_and_follow_renames() {
    let p = Platform::with_reporting().await;
    let safety = course(&p, "Safety", false).await;
    let (max, _) = p
        .person("max@academy.example", Some("builtin:manager"), None)
        .await;
    let (ann, _) = p
        .person("ann@academy.example", None, Some(&p.location))
        .await;
    let team = p.team(&max, std::slice::from_ref(&ann)).await;
    enrol(&p, &safety, &[&ann]).await;
    let named = |team: &str, unit: &str, rows: &[LearnerProgressRow]| {
        rows.iter()
            .any(|row| row.user_id == ann && row.team_name == team && row.unit_name == unit)
    };
    eventually(&p, &p.admin, |rows| named("Team", "North", rows)).await;

    UnitServiceClient::new(p.identity.authorized(&p.admin))
        .rename_unit(RenameUnitRequest {
            unit_id: p.location.clone(),
            name: "North Campus".into(),
        })
        .await
        .unwrap();
    p.groups(&p.admin)
        .rename_group(RenameGroupRequest {
            group_id: team,
            name: "Forklift crew".into(),
        })
        .await
        .unwrap();
    eventually(&p, &p.admin, |rows| {
        named("Forklift crew", "North Campus", rows)
    })
    .await;
}

/// Who holds which role as reporting keeps it: (holder, role, main), in order.
async fn projected_roles(reporting: &sqlx::PgPool) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "SELECT user_id, role_id, main_role FROM projected_role_assignments \
         ORDER BY user_id, role_id",
    )
    .fetch_all(reporting)
    .await
    .unwrap()
}

/// Who holds which role as authorization stores it.
async fn stored_roles(p: &Platform) -> Vec<(String, String, bool)> {
    let authorization = sqlx::PgPool::connect(p.authorization_database_url())
        .await
        .unwrap();
    let roles = sqlx::query_as(
        "SELECT user_id::text, role_id, main_role FROM role_assignments ORDER BY 1, 2",
    )
    .fetch_all(&authorization)
    .await
    .unwrap();
    authorization.close().await;
    roles
}

#[tokio::test]
async fn reports_show_each_learners_main_role_and_a_rebuild_restores_who_holds_which() {
    let mut p = Platform::with_reporting().await;
    let safety = course(&p, "Safety", false).await;
    let (ann, _) = p
        .person("ann@academy.example", Some("builtin:manager"), None)
        .await;
    let (bob, _) = p.person("bob@academy.example", None, None).await;
    enrol(&p, &safety, &[&ann, &bob]).await;
    let mut roles = RoleAssignmentServiceClient::new(p.authorization.authorized(&p.admin));
    let tutor = roles
        .assign_role(AssignRoleRequest {
            user_id: ann.clone(),
            role_id: "builtin:tutor".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignment
        .unwrap();
    roles
        .set_main_role(SetMainRoleRequest {
            user_id: ann.clone(),
            assignment_id: tutor.assignment_id.clone(),
        })
        .await
        .unwrap();
    // The report names each learner's main role as it changes.
    let rows = eventually(&p, &p.admin, |rows| {
        rows.iter()
            .any(|row| row.user_id == ann && row.main_role_id == "builtin:tutor")
    })
    .await;
    let bobs = rows.iter().find(|row| row.user_id == bob).unwrap();
    assert_eq!(bobs.main_role_id, "", "{rows:?}");
    p.settle_reporting().await;
    let reporting = sqlx::PgPool::connect(p.reporting_database_url())
        .await
        .unwrap();
    let held = projected_roles(&reporting).await;
    assert_eq!(held, stored_roles(&p).await);
    assert!(held.contains(&(ann.clone(), "builtin:manager".into(), false)));

    // While reporting is down Bob becomes a tutor and Ann stops being one; then the streams
    // are trimmed past it, and only the rebuild brings it back.
    p.stop_reporting().await;
    roles
        .assign_role(AssignRoleRequest {
            user_id: bob.clone(),
            role_id: "builtin:tutor".into(),
            main_role: true,
            ..Default::default()
        })
        .await
        .unwrap();
    roles
        .revoke_role(RevokeRoleRequest {
            assignment_id: tutor.assignment_id,
            ..Default::default()
        })
        .await
        .unwrap();
    p.trim_streams().await;
    p.start_reporting().await;
    p.settle_reporting().await;
    assert_eq!(projected_roles(&reporting).await, held);

    p.rebuild_reporting(&p.tenant).await;
    wait_rebuilt(&reporting, "authorization", "reporting.roles", 1).await;
    let now = projected_roles(&reporting).await;
    assert_eq!(now, stored_roles(&p).await);
    assert!(now.contains(&(bob.clone(), "builtin:tutor".into(), true)));
    eventually(&p, &p.admin, |rows| {
        rows.iter()
            .any(|row| row.user_id == bob && row.main_role_id == "builtin:tutor")
            && rows
                .iter()
                .any(|row| row.user_id == ann && row.main_role_id.is_empty())
    })
    .await;
}

/// Every booking of `token`'s attendance report (only `event` when given), as
/// (learner, event, status).
async fn attendance(
    p: &Platform,
    token: &str,
    event: &str,
) -> Result<BTreeSet<(String, String, String)>, tonic::Status> {
    let reporting = p.reporting.as_ref().expect("started with reporting");
    let mut client = ReportServiceClient::new(reporting.authorized(token));
    let (mut rows, mut next): (Vec<AttendanceRow>, String) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_attendance(ListAttendanceRequest {
                event_id: event.into(),
                page_size: 2,
                page_token: next,
                ..Default::default()
            })
            .await?
            .into_inner();
        rows.extend(page.rows);
        if page.next_page_token.is_empty() {
            break;
        }
        next = page.next_page_token;
    }
    Ok(rows
        .into_iter()
        .map(|row| (row.user_id, row.event_id, row.booking_status))
        .collect())
}

/// A fact as reporting holds it: tenant, resource (type, id, tenant), relation, subject (type,
/// id, tenant), window.
type Fact = (
    String,
    i16,
    String,
    String,
    i16,
    i16,
    String,
    String,
    Option<i64>,
    Option<i64>,
);

/// Delegation's facts as reporting holds them, of every tenant (present ones, without
/// sequences).
async fn delegation_facts(reporting: &sqlx::PgPool) -> Vec<Fact> {
    sqlx::query_as(
        "SELECT tenant_id::text, resource_type, resource_id, resource_tenant, relation, \
         subject_type, subject_id, subject_tenant, valid_from, valid_until FROM projected_facts \
         WHERE service = 'delegation' AND present ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .fetch_all(reporting)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rebuild_re_sends_delegations_facts_as_they_stand() {
    let p = Platform::with_reporting().await;
    // A course of a unit with a lesson, a tutor, an administrator, and an event with its own.
    let forklift = unit_course(&p, Some(&p.location)).await;
    p.lessons(&p.admin)
        .create_lesson(CreateLessonRequest {
            course_id: forklift.clone(),
            title: "Lifting".into(),
            position: 0,
        })
        .await
        .unwrap();
    let (tutor, _) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    let (host, _) = p
        .person("host@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &forklift, &tutor).await;
    give(&p, &p.admin, "course_administrator", &forklift, &host).await;
    let session = event(&p, &forklift, 1, false, 86_400).await;
    give(&p, &p.admin, "event_administrator", &session, &host).await;
    // Learners: two enrolled and one withdrawn; one booked, one waitlisted; one offered.
    let mut people = Vec::new();
    for name in ["ann", "bob", "cid", "dee"] {
        let email = format!("{name}@academy.example");
        people.push(p.person(&email, None, None).await.0);
    }
    let (ann, bob, cid, dee) = (&people[0], &people[1], &people[2], &people[3]);
    enrol(&p, &forklift, &[ann, bob, cid]).await;
    p.enrolments(&p.admin)
        .withdraw(WithdrawRequest {
            course_id: forklift.clone(),
            user_id: cid.clone(),
        })
        .await
        .unwrap();
    book(&p, &p.admin, &session, ann).await.unwrap();
    book(&p, &p.admin, &session, bob).await.unwrap();
    p.offer(&forklift, std::slice::from_ref(dee)).await;
    // A Purchaser's invitee who accepted.
    let shop = p
        .operator_integration("shop", &["delegation.orders.place"])
        .await;
    let (_, boss_token) = p.person("boss@academy.example", None, None).await;
    let (_, known_token) = p.person("known@academy.example", None, None).await;
    let bought = place(&p, &shop, order("1", &forklift, "boss@academy.example", 3))
        .await
        .unwrap()
        .order
        .unwrap();
    let invited = p
        .purchases(&boss_token)
        .invite_learner(InviteLearnerRequest {
            order_id: bought.order_id,
            email: "known@academy.example".into(),
        })
        .await
        .unwrap()
        .into_inner();
    p.purchases(&known_token)
        .accept_invitation(AcceptInvitationRequest {
            code: invited.code,
            invitation_id: String::new(),
        })
        .await
        .unwrap();
    // A course erased with its lesson and its tutor: none of their facts stay.
    let gone = unit_course(&p, Some(&p.location)).await;
    p.lessons(&p.admin)
        .create_lesson(CreateLessonRequest {
            course_id: gone.clone(),
            title: "Gone".into(),
            position: 0,
        })
        .await
        .unwrap();
    give(&p, &p.admin, "course_tutor", &gone, &host).await;
    p.courses(&p.admin)
        .delete_course(DeleteCourseRequest {
            course_id: gone.clone(),
        })
        .await
        .unwrap();
    // A master's course granted to its client: a fact of the client's.
    let linked = p.master_and_client().await;
    let granted = p
        .courses(&linked.master_admin)
        .create_course(CreateCourseRequest {
            title: "Group induction".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id;
    p.grants(&linked.master_admin)
        .grant_content(GrantContentRequest {
            client_tenant_id: linked.client.clone(),
            course_id: granted,
            ..Default::default()
        })
        .await
        .unwrap();
    p.settle_reporting().await;
    let reporting = sqlx::PgPool::connect(p.reporting_database_url())
        .await
        .unwrap();
    let before = delegation_facts(&reporting).await;
    let relations: BTreeSet<i16> = before.iter().map(|fact| fact.4).collect();
    for relation in [
        Relation::OwningUnit,
        Relation::ParentCourse,
        Relation::CourseTutor,
        Relation::CourseAdministrator,
        Relation::EventAdministrator,
        Relation::Enrolled,
        Relation::Booked,
        Relation::Offered,
        Relation::Invitee,
        Relation::GrantedBy,
    ] {
        assert!(
            relations.contains(&(relation as i16)),
            "{relation:?}: {before:?}"
        );
    }
    assert!(
        !before.iter().any(|fact| fact.2 == gone || fact.6 == gone),
        "{before:?}"
    );

    // The order as reporting holds it, then lost there (as if its events were trimmed away).
    let orders = projected_orders(&reporting).await;
    assert_eq!(orders, [("1".to_owned(), 3, 0, 1)]);
    sqlx::query("DELETE FROM projected_orders")
        .execute(&reporting)
        .await
        .unwrap();

    p.rebuild_reporting(&p.tenant).await;
    p.rebuild_reporting(&linked.client).await;
    wait_rebuilt(&reporting, "delegation", "authorization.facts", 2).await;
    wait_rebuilt(&reporting, "delegation", "reporting.order", 2).await;
    // Every fact was re-sent (none swept that still holds), and nothing more.
    assert_eq!(delegation_facts(&reporting).await, before);
    assert_eq!(projected_orders(&reporting).await, orders);
}

/// Each order reporting holds: its shop id, seats, invitations waiting and taken.
async fn projected_orders(reporting: &sqlx::PgPool) -> Vec<(String, i32, i32, i32)> {
    sqlx::query_as(
        "SELECT shop_order_id, seats, waiting, taken FROM projected_orders ORDER BY order_id",
    )
    .fetch_all(reporting)
    .await
    .unwrap()
}

#[tokio::test]
async fn attendance_shows_each_caller_the_bookings_of_their_people_courses_and_events() {
    let p = Platform::with_reporting().await;
    // Both titled as the events helper expects its events to be.
    let forklift = course(&p, "Forklift safety", false).await;
    let first_aid = course(&p, "Forklift safety", false).await;
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &forklift, &tutor).await;
    let (manager, manager_token) = p
        .person("manager@academy.example", Some("builtin:manager"), None)
        .await;
    let (ann, _) = p.person("ann@academy.example", None, None).await;
    let (bob, _) = p.person("bob@academy.example", None, None).await;
    let (cid, cid_token) = p.person("cid@academy.example", None, None).await;
    p.team(&manager, std::slice::from_ref(&ann)).await;
    let small = event(&p, &forklift, 2, false, 86_400).await;
    let large = event(&p, &first_aid, 10, false, 86_400).await;
    // An Event Administrator of the first-aid event (a Tutor may take the duty).
    let (host, host_token) = p
        .person("host@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "event_administrator", &large, &host).await;
    for learner in [&ann, &bob, &cid] {
        book(&p, &p.admin, &small, learner).await.unwrap();
    }
    book(&p, &p.admin, &large, &ann).await.unwrap();

    let row = |user: &str, event: &str, status: &str| {
        (user.to_owned(), event.to_owned(), status.to_owned())
    };
    let everything = BTreeSet::from([
        row(&ann, &small, "booked"),
        row(&bob, &small, "booked"),
        row(&cid, &small, "waitlisted"),
        row(&ann, &large, "booked"),
    ]);
    let started = Instant::now();
    while attendance(&p, &p.admin, "").await.ok() != Some(everything.clone()) {
        assert!(started.elapsed() < LAG, "the bookings did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        attendance(&p, &p.admin, &small).await.unwrap().len(),
        3,
        "one event's bookings"
    );
    // The tutor: every booking on their course's event; the host: every booking on theirs;
    // the manager: their team's; a learner: their own.
    assert_eq!(
        attendance(&p, &tutor_token, "").await.unwrap(),
        BTreeSet::from([
            row(&ann, &small, "booked"),
            row(&bob, &small, "booked"),
            row(&cid, &small, "waitlisted"),
        ])
    );
    assert_eq!(
        attendance(&p, &host_token, "").await.unwrap(),
        BTreeSet::from([row(&ann, &large, "booked")])
    );
    assert_eq!(
        attendance(&p, &manager_token, "").await.unwrap(),
        BTreeSet::from([row(&ann, &small, "booked"), row(&ann, &large, "booked")])
    );
    assert_eq!(
        attendance(&p, &cid_token, "").await.unwrap(),
        BTreeSet::from([row(&cid, &small, "waitlisted")])
    );

    // Calling an event off cancels its bookings in the report too.
    p.events(&p.admin)
        .cancel_event(CancelEventRequest {
            event_id: large.clone(),
        })
        .await
        .unwrap();
    let cancelled = BTreeSet::from([row(&ann, &large, "cancelled")]);
    let started = Instant::now();
    while attendance(&p, &p.admin, &large).await.ok() != Some(cancelled.clone()) {
        assert!(started.elapsed() < LAG, "the cancellation did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = attendance(&p, &p.admin, "no-event").await.unwrap_err();
    assert_eq!(fields(&refused), ["event_id"]);
}
