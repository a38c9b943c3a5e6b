//! `lmsctl` against a real authorization service on 127.0.0.1 with PostgreSQL. (The README's
//! tour, which runs lmsctl against a whole `lms dev`, is an end-to-end test: `tests/e2e/tour.rs`.)

use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{AssignRoleRequest, SubjectStatus, WriteRelationshipsRequest};
use lms_api::common::v1::UserStatus;
use lms_kernel::{TenantId, UserId};
use lms_runtime::ServiceName;
use lms_testkit::{TestAuth, TestService};

struct Setup {
    service: TestService,
    admin_token: String,
    admin: UserId,
    user: UserId,
    _database: lms_testkit::TestDatabase,
}

async fn setup() -> Setup {
    let auth = TestAuth::new();
    let database = lms_testkit::postgres_database().await;
    let context =
        lms_testkit::service_context(ServiceName::Authorization, database.url(), None, &auth);
    let service = TestService::start(lms_authorization::build(context).await.unwrap()).await;
    let tenant = TenantId::generate();
    let (admin, user) = (UserId::generate(), UserId::generate());
    let identity = auth.tenant_service_token("identity", tenant);
    let statuses = [admin, user]
        .iter()
        .map(|u| SubjectStatus {
            user_id: u.to_string(),
            status: UserStatus::Active as i32,
            restrict_bookings: false,
        })
        .collect();
    RelationshipServiceClient::new(service.authorized(&identity))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid::Uuid::new_v4().to_string(),
            statuses,
            ..Default::default()
        })
        .await
        .unwrap();
    RoleAssignmentServiceClient::new(service.authorized(&identity))
        .assign_role(AssignRoleRequest {
            user_id: admin.to_string(),
            role_id: "builtin:lms_administrator".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    Setup {
        admin_token: auth.user_token(tenant, admin),
        service,
        admin,
        user,
        _database: database,
    }
}

/// Runs lmsctl with `args`; answers (success, stdout, stderr).
async fn lmsctl(setup: &Setup, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lmsctl"))
        .args(args)
        .env("LMS_ENDPOINT", format!("http://{}", setup.service.addr()))
        .env("LMS_TOKEN", &setup.admin_token)
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
async fn check_and_explain_answer_in_json_and_tables() {
    let s = setup().await;
    let target = format!("user:{}", s.user);
    let (ok, out, _) = lmsctl(&s, &["check", "users.update", &target, "-o", "json"]).await;
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["decision"], "ALLOWED");
    assert!(json["checked_at"].as_str().unwrap().starts_with('r'));

    let (ok, out, _) = lmsctl(&s, &["explain", "users.update", &target]).await;
    assert!(ok);
    assert!(out.starts_with("DECISION"), "{out}");
    assert!(
        out.contains("builtin:lms_administrator") && out.contains("tenant"),
        "{out}"
    );

    let (ok, out, _) = lmsctl(
        &s,
        &[
            "check",
            "users.update",
            &format!("user:{}", s.admin),
            "--subject",
            &s.user.to_string(),
            "-o",
            "json",
        ],
    )
    .await;
    assert!(ok, "an administrator may ask about another user");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["decision"],
        "DENIED"
    );
}

#[tokio::test]
async fn roles_assign_and_revoke_round_trip() {
    let s = setup().await;
    let (ok, out, _) = lmsctl(&s, &["roles"]).await;
    assert!(
        ok && out.contains("builtin:tutor") && out.contains("Manager/Tutor"),
        "{out}"
    );
    let (ok, out, _) = lmsctl(&s, &["roles", "builtin:tutor", "-o", "json"]).await;
    assert!(ok, "{out}");
    let enrolments = area_row(&out, "enrolments");
    assert!(
        actions(&enrolments, "tutored_courses").contains(&"approve"),
        "{enrolments}"
    );

    let (ok, out, _) = lmsctl(
        &s,
        &["assign", &s.user.to_string(), "builtin:tutor", "-o", "json"],
    )
    .await;
    assert!(ok);
    let assigned: serde_json::Value = serde_json::from_str(&out).unwrap();
    let assignment = assigned["assignment"].as_str().unwrap().to_owned();
    let (ok, out, _) = lmsctl(&s, &["revoke", &assignment]).await;
    assert!(ok && out.contains(&assignment), "{out}");
}

#[tokio::test]
async fn bad_input_fails_with_a_clear_message_and_no_token_leak() {
    let s = setup().await;
    let (ok, _, err) = lmsctl(&s, &["check", "users.read", "wizard:1"]).await;
    assert!(!ok && err.contains("<type>:<id>"), "{err}");
    let (ok, _, err) = lmsctl(&s, &["check", "users.fly", &format!("user:{}", s.user)]).await;
    assert!(!ok && err.contains("permission"), "{err}");
    assert!(!err.contains(&s.admin_token));
}

/// The row of `area` in `lmsctl roles ROLE -o json`.
fn area_row(json: &str, area: &str) -> serde_json::Value {
    let rows: serde_json::Value = serde_json::from_str(json).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["area"] == area)
        .unwrap_or_else(|| panic!("no {area} row in {json}"))
        .clone()
}

/// The actions of a cell (`read, create`).
fn actions<'a>(row: &'a serde_json::Value, reach: &str) -> Vec<&'a str> {
    row[reach]
        .as_str()
        .map_or(Vec::new(), |cell| cell.split(", ").collect())
}

#[tokio::test]
async fn a_role_reads_as_a_table_by_area_and_reach() {
    let s = setup().await;
    let (ok, out, err) = lmsctl(&s, &["roles", "builtin:local_administrator", "-o", "json"]).await;
    assert!(ok, "{err}");
    // One row per area, each with the same columns: the area and the reaches the role uses,
    // the unit's among them and never the clients'.
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    let columns: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    for row in rows {
        assert_eq!(row.as_object().unwrap().keys().collect::<Vec<_>>(), columns);
    }
    assert!(columns.iter().any(|c| *c == "unit"), "{columns:?}");
    assert!(
        !columns.iter().any(|c| *c == "tenant_and_clients"),
        "{columns:?}"
    );
    let mut areas: Vec<&str> = rows.iter().map(|r| r["area"].as_str().unwrap()).collect();
    let listed = areas.len();
    areas.dedup();
    assert_eq!(areas.len(), listed, "each area once: {areas:?}");

    // Over the people of their location: read, create, update, suspend; never delete.
    let users = area_row(&out, "users");
    let at_unit = actions(&users, "unit");
    assert!(
        ["read", "create", "update", "suspend"]
            .iter()
            .all(|a| at_unit.contains(a)),
        "{users}"
    );
    assert!(!at_unit.contains(&"delete"), "{users}");
    // Their own profile, as every role includes Student's grants.
    assert!(actions(&users, "own").contains(&"read"), "{users}");
    // No row for what the role does not touch.
    assert!(
        !rows.iter().any(|r| r["area"] == "system_configuration"),
        "{out}"
    );

    // The table for people: reaches as columns, narrowest first, areas as rows.
    let (ok, out, _) = lmsctl(&s, &["roles", "builtin:local_administrator"]).await;
    assert!(ok);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header.first(), Some(&"AREA"));
    let own = header.iter().position(|h| *h == "OWN").unwrap();
    let unit = header.iter().position(|h| *h == "UNIT").unwrap();
    assert!(own < unit, "{header:?}");
    assert!(out.lines().any(|line| line.starts_with("users ")), "{out}");
}

#[tokio::test]
async fn permissions_list_the_vocabulary_with_what_each_allows() {
    let s = setup().await;
    let (ok, out, err) = lmsctl(&s, &["permissions", "-o", "json"]).await;
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), lms_kernel::Permission::ALL.len());
    let units_create = rows
        .iter()
        .find(|r| r["permission"] == "units.create")
        .unwrap();
    assert_eq!(units_create["area"], "Locations and accounts");
    assert_eq!(units_create["risky"], "false");
    assert_eq!(
        units_create["description"],
        "Create locations, accounts and account groups."
    );
    let export = rows
        .iter()
        .find(|r| r["permission"] == "reports.export")
        .unwrap();
    assert_eq!(export["risky"], "true");

    let (ok, out, _) = lmsctl(&s, &["permissions"]).await;
    assert!(ok && out.starts_with("AREA"), "{out}");
    assert!(out.contains("See a user's profile."), "{out}");
}
