//! `lmsctl deploy` with more people than one call carries: a thousand a call, the calls before
//! a refused one standing, and running it again finishing the job without enrolling anyone
//! twice. `lmsctl enrolments grant-access` as an approved teacher, with the approval's token.

use lms_api::delegation::v1::{CreateCourseRequest, ListEnrolmentsRequest};
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{AccountKind, ListUsersRequest};

use super::fixture::{Platform, sign_in};

/// Everyone `platform`'s administrator sees, but the administrator.
async fn learners(p: &Platform) -> Vec<String> {
    let mut users = UserServiceClient::new(p.identity.authorized(&p.admin));
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = users
            .list_users(ListUsersRequest {
                query: "@cohort.example".into(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
}

/// How many enrolments `course` has.
async fn enrolled(p: &Platform, course: &str) -> usize {
    let mut count = 0;
    let mut page_token = String::new();
    loop {
        let page = p
            .enrolments(&p.admin)
            .list_enrolments(ListEnrolmentsRequest {
                course_id: course.into(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        count += page.enrolments.len();
        if page.next_page_token.is_empty() {
            return count;
        }
        page_token = page.next_page_token;
    }
}

/// Runs this checkout's lmsctl as the administrator; answers (success, stdout, stderr).
async fn lmsctl(p: &Platform, dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    lmsctl_as(p, &p.admin, dir, args).await
}

/// Runs this checkout's lmsctl with `token`; answers (success, stdout, stderr).
async fn lmsctl_as(
    p: &Platform,
    token: &str,
    dir: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let output = tokio::process::Command::new(crate::tour::lmsctl().await)
        .args(args)
        .current_dir(dir)
        .env("LMS_TOKEN", token)
        .env(
            "LMS_IDENTITY_ENDPOINT",
            format!("http://{}", p.identity.addr()),
        )
        .env(
            "LMS_DELEGATION_ENDPOINT",
            format!("http://{}", p.delegation.addr()),
        )
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn lmsctl_deploys_a_long_list_a_thousand_a_call_and_running_it_again_finishes_a_refused_one()
{
    let p = Platform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("external_id,email,given_name,family_name\n");
    for n in 0..1_200 {
        csv.push_str(&format!("c{n},c{n}@cohort.example,Cohort,{n}\n"));
    }
    std::fs::write(dir.path().join("cohort.csv"), csv).unwrap();
    let (ok, _, err) = lmsctl(&p, dir.path(), &["import", "users", "cohort.csv"]).await;
    assert!(ok, "{err}");
    let cohort = learners(&p).await;
    assert_eq!(cohort.len(), 1_200);
    let course = p
        .courses(&p.admin)
        .create_course(CreateCourseRequest {
            title: "Induction".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id;

    // The second call carries an id nobody has: it is refused whole, the first stands.
    let nobody = lms_kernel::UserId::generate().to_string();
    let with_a_stranger = format!("# the cohort\n{}\n{nobody}\n", cohort.join("\n"));
    std::fs::write(dir.path().join("ids.txt"), with_a_stranger).unwrap();
    let (ok, _, err) = lmsctl(
        &p,
        dir.path(),
        &["deploy", &course, "--users-file", "ids.txt"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("deploy (users 1,001-1,201 of 1,201; the first 1,000 stand")
            && err.contains(&nobody)
            && err.trim_end().ends_with("(NOT_FOUND)"),
        "{err}"
    );
    assert_eq!(enrolled(&p, &course).await, 1_000);

    // Without the stranger, running it again enrols only who is missing.
    std::fs::write(dir.path().join("ids.txt"), cohort.join("\n")).unwrap();
    let (ok, out, err) = lmsctl(
        &p,
        dir.path(),
        &["deploy", &course, "--users-file", "ids.txt", "-o", "json"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        err.contains("200 enrolled; 1,000 were enrolled already"),
        "{err}"
    );
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&answer["enrolled"], &answer["reached"]),
        (&"200".into(), &"1200".into())
    );
    assert!(answer["written_at"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(enrolled(&p, &course).await, 1_200);
}

#[tokio::test]
async fn lmsctl_grants_content_access_as_an_approved_teacher() {
    let p = Platform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let course = super::enrolments::course(&p, "Safeguarding", false).await;
    let (student, student_token) = p.person("sam@academy.example", None, None).await;
    let teacher = p
        .applicant("tara@academy.example", AccountKind::Teacher)
        .await;
    p.approve(&teacher).await;
    let teacher_token = sign_in(&p.identity, &p.tenant, "tara@academy.example").await;

    let (ok, _, err) = lmsctl_as(
        &p,
        &student_token,
        dir.path(),
        &["enrolments", "grant-access", &course, "--user", &student],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("grant content access")
            && err.contains("content_access.grant")
            && err.trim_end().ends_with("(PERMISSION_DENIED)"),
        "{err}"
    );
    assert_eq!(enrolled(&p, &course).await, 0);

    let (ok, out, err) = lmsctl_as(
        &p,
        &teacher_token,
        dir.path(),
        &[
            "enrolments",
            "grant-access",
            &course,
            "--user",
            &student,
            "-o",
            "json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&answer["enrolled"], &answer["reached"]),
        (&"1".into(), &"1".into()),
        "{out}"
    );
    assert!(answer["written_at"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(enrolled(&p, &course).await, 1);
    assert!(super::enrolments::may_read(&p, &student_token, &course).await);
}

#[tokio::test]
async fn lmsctl_audit_reads_delegation_s_trail_from_the_delegation_endpoint() {
    let p = Platform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let course = super::enrolments::course(&p, "Audited", false).await;
    let (tutor, _) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    super::responsibilities::give(&p, &p.admin, "course_tutor", &course, &tutor).await;

    let (ok, out, err) = lmsctl(
        &p,
        dir.path(),
        &["audit", "--service", "delegation", "-o", "json"],
    )
    .await;
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let admin = format!("user:{}", p.admin_id);
    let shown: Vec<(&str, &str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap(),
                row["actor"].as_str().unwrap(),
                row["object"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "responsibility.given",
                admin.as_str(),
                format!("responsibility:course_tutor:{course}:{tutor}").as_str()
            ),
            (
                "course.created",
                admin.as_str(),
                format!("course:{course}").as_str()
            ),
        ],
        "{out}"
    );

    // Identity's trail, the default, holds none of delegation's changes.
    let object = format!("course:{course}");
    let (ok, out, err) = lmsctl(
        &p,
        dir.path(),
        &["audit", "--object", &object, "-o", "json"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "[]");
    // Delegation keeps no platform trail.
    let (ok, _, err) = lmsctl(
        &p,
        dir.path(),
        &["audit", "--service", "delegation", "--platform"],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("--platform is identity's trail"), "{err}");
}
