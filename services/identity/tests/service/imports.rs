//! CSV import and the people-data feed: the whole file is checked first, a bad row stops it
//! unless asked to skip, a re-run changes nothing, and the feed's roles reach authorization.

use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::{
    CreateGroupRequest, ImportCsvRequest, ImportCsvResponse, ImportKind, ListUsersRequest,
    import_csv_request,
};
use tonic::Code;

use crate::fixture::{Platform, eventually_roles, fields, import, people};

const ACCOUNTS: &str = "external_id,name,kind\nACME,Acme Ltd,customer\nUS,Our Training,provider\n";

#[tokio::test]
async fn a_file_with_a_bad_row_imports_nothing_and_names_every_bad_row() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    import(
        &platform,
        &admin,
        ImportKind::Accounts,
        (false, false),
        ACCOUNTS,
    )
    .await
    .unwrap();
    let file = "external_id,email,given_name,family_name,account\n\
        E1,ann@example.org,Ann,Ames,ACME\n\
        E2,not an email,Bob,Burns,ACME\n\
        E3,cy@example.org,Cy,Cole,NOWHERE\n";
    let progress = import(&platform, &admin, ImportKind::Users, (false, false), file)
        .await
        .unwrap();
    let last = progress.last().unwrap();
    assert_eq!(last.rows_read, 3);
    assert_eq!(last.rows_imported, 0);
    let bad: Vec<_> = progress
        .iter()
        .flat_map(|m| &m.errors)
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(bad, [(3, "email"), (4, "account")]);
    assert_eq!(people(&platform, &admin).await, 1, "nobody was imported");
}

#[tokio::test]
async fn skipping_bad_rows_imports_the_rest_and_a_rerun_changes_nothing() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    import(
        &platform,
        &admin,
        ImportKind::Accounts,
        (false, false),
        ACCOUNTS,
    )
    .await
    .unwrap();
    let file = "external_id,email,given_name,family_name,account\n\
        E1,ann@example.org,Ann,Ames,ACME\n\
        E2,bad,Bob,Burns,ACME\n\
        E3,cy@example.org,Cy,Cole,\n";
    let first = import(&platform, &admin, ImportKind::Users, (true, false), file)
        .await
        .unwrap();
    assert_eq!(first.last().unwrap().rows_imported, 2);
    assert_eq!(people(&platform, &admin).await, 3);

    let again = import(&platform, &admin, ImportKind::Users, (true, false), file)
        .await
        .unwrap();
    let last = again.last().unwrap();
    assert_eq!((last.rows_imported, last.rows_unchanged), (0, 2));
    assert_eq!(people(&platform, &admin).await, 3);

    let accounts_again = import(
        &platform,
        &admin,
        ImportKind::Accounts,
        (false, false),
        ACCOUNTS,
    )
    .await
    .unwrap();
    assert_eq!(accounts_again.last().unwrap().rows_unchanged, 2);
}

#[tokio::test]
async fn the_people_data_feed_assigns_and_takes_back_the_manager_role() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform
        .groups(&admin)
        .create_group(CreateGroupRequest {
            name: "Sales".into(),
            external_id: "T-SALES".into(),
        })
        .await
        .unwrap();
    let feed = |role: &str| {
        format!(
            "external_id,email,given_name,family_name,group,role\n\
             HR-1,mia@example.org,Mia,Moss,T-SALES,{role}\n\
             HR-2,ned@example.org,Ned,North,T-SALES,student\n"
        )
    };
    import(
        &platform,
        &admin,
        ImportKind::Users,
        (false, true),
        &feed("manager"),
    )
    .await
    .unwrap();
    let everyone = platform
        .users(&admin)
        .list_users(ListUsersRequest {
            query: "mia@".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    let mia = &everyone[0];
    assert!(
        !mia.primary_group_id.is_empty(),
        "the feed's team is her primary group"
    );
    eventually_roles(&platform, &admin, &mia.user_id, true).await;

    let demoted = import(
        &platform,
        &admin,
        ImportKind::Users,
        (false, true),
        &feed("student"),
    )
    .await
    .unwrap();
    let last = demoted.last().unwrap();
    assert_eq!((last.rows_imported, last.rows_unchanged), (1, 1));
    eventually_roles(&platform, &admin, &mia.user_id, false).await;
}

#[tokio::test]
async fn a_malformed_file_is_refused_before_anything_starts() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let refused = import(
        &platform,
        &admin,
        ImportKind::Users,
        (false, false),
        "email;name\nann@example.org;Ann\n",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["chunk"]);
    assert!(
        refused.message().contains("external_id"),
        "{}",
        refused.message()
    );

    let no_options = ImportServiceClient::new(platform.identity.authorized(&admin))
        .import_csv(tokio_stream::iter(vec![ImportCsvRequest {
            part: Some(import_csv_request::Part::Chunk(b"a,b\n".to_vec())),
        }]))
        .await
        .unwrap_err();
    assert_eq!(fields(&no_options), ["options"]);
}

/// The lines and columns of every error an import answered.
fn refused_lines(progress: &[ImportCsvResponse]) -> Vec<(i64, &str)> {
    progress
        .iter()
        .flat_map(|m| &m.errors)
        .map(|e| (e.line, e.column.as_str()))
        .collect()
}

#[tokio::test]
async fn an_import_that_would_make_a_unit_its_own_ancestor_is_refused_with_the_line() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tree = "external_id,name,parent\n\
        G1,Group one,\n\
        G2,Group two,G1\n\
        G3,Group three,G2\n\
        A,Alpha,\n\
        B,Beta,\n";
    import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (false, false),
        tree,
    )
    .await
    .unwrap();
    for (file, lines) in [
        // Under its own grandchild.
        (
            "external_id,name,parent\nG1,Group one,G3\n",
            vec![(2, "parent")],
        ),
        // Under itself.
        (
            "external_id,name,parent\nG2,Group two,G2\n",
            vec![(2, "parent")],
        ),
        // A loop the file makes between its own rows.
        (
            "external_id,name,parent\nA,Alpha,B\nB,Beta,A\n",
            vec![(2, "parent"), (3, "parent")],
        ),
        // A new unit that the file then puts above its own parent: both rows are on the loop.
        (
            "external_id,name,parent\nN,New,G3\nG1,Group one,N\n",
            vec![(2, "parent"), (3, "parent")],
        ),
    ] {
        let progress = import(
            &platform,
            &admin,
            ImportKind::AccountGroups,
            (false, false),
            file,
        )
        .await
        .unwrap();
        assert_eq!(refused_lines(&progress), lines, "{file}");
        assert_eq!(progress.last().unwrap().rows_imported, 0, "{file}");
    }
    // Nothing moved: the first file changes nothing.
    let again = import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (false, false),
        tree,
    )
    .await
    .unwrap();
    assert_eq!(again.last().unwrap().rows_unchanged, 5);
}

#[tokio::test]
async fn formula_cells_and_overlong_custom_values_are_refused_by_line_and_column() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let file = format!(
        "external_id,email,given_name,family_name,custom.note\n\
         E1,ann@example.org,=HYPERLINK(1),Ames,\n\
         E2,bob@example.org,Bob,@SUM(1),\n\
         E3,cy@example.org,Cy,Cole,{}\n",
        "x".repeat(1001)
    );
    let progress = import(&platform, &admin, ImportKind::Users, (false, false), &file)
        .await
        .unwrap();
    let mut refused = refused_lines(&progress);
    refused.sort();
    assert_eq!(
        refused,
        [(2, "given_name"), (3, "family_name"), (4, "custom.note")]
    );
    assert_eq!(progress.last().unwrap().rows_imported, 0);
    assert_eq!(people(&platform, &admin).await, 1, "nobody was imported");
}

#[tokio::test]
async fn a_custom_role_with_only_users_import_cannot_make_anyone_manager_through_the_feed() {
    use lms_api::authorization::v1::role_service_client::RoleServiceClient;
    use lms_api::authorization::v1::{CreateRoleRequest, Grant, Reach};

    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let importer_role = RoleServiceClient::new(platform.authorization.authorized(&admin))
        .create_role(CreateRoleRequest {
            name: "Importer".into(),
            grants: vec![Grant {
                permission: "users.import".into(),
                reach: Reach::Tenant as i32,
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .role_id;
    let importer = platform
        .create_user(&admin, "importer@example.org", "")
        .await;
    platform
        .roles(&admin)
        .assign_role(lms_api::authorization::v1::AssignRoleRequest {
            user_id: importer.clone(),
            role_id: importer_role,
            ..Default::default()
        })
        .await
        .unwrap();
    let token = platform
        .sign_in("importer@example.org", crate::fixture::USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let before = people(&platform, &admin).await;

    let file = "external_id,email,given_name,family_name,role\n\
                HR-1,max@example.org,Max,Mills,manager\n\
                HR-2,sam@example.org,Sam,Stone,student\n";
    let refused = import(&platform, &token, ImportKind::Users, (false, true), file)
        .await
        .unwrap();
    let errors: Vec<_> = refused.iter().flat_map(|m| &m.errors).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].line, errors[0].column.as_str()), (2, "role"));
    assert!(
        errors[0].reason.contains("Manager role") && errors[0].reason.contains("users.read"),
        "the row says why and what is missing: {errors:?}"
    );
    assert_eq!(refused.last().unwrap().rows_imported, 0);
    assert_eq!(
        people(&platform, &admin).await,
        before,
        "nothing was imported while a row is bad"
    );

    // Skipping the bad row, the same importer brings in the person the feed gives no role.
    let skipped = import(&platform, &token, ImportKind::Users, (true, true), file)
        .await
        .unwrap();
    assert_eq!(skipped.last().unwrap().rows_imported, 1);
    assert_eq!(people(&platform, &admin).await, before + 1);
}

/// Gives `user` the external id `external` (an administrator's edit).
async fn set_external_id(platform: &Platform, admin: &str, user: &str, external: &str) {
    use lms_api::identity::v1::{UpdateUserRequest, User};
    platform
        .users(admin)
        .update_user(UpdateUserRequest {
            user_id: user.into(),
            user: Some(User {
                external_id: external.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["external_id".into()],
            }),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_training_coordinators_import_cannot_change_the_lms_administrators_email() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let lms = platform.create_user(&admin, "lin@example.org", "").await;
    platform.assign(&admin, &lms, "lms_administrator", "").await;
    set_external_id(&platform, &admin, &lms, "HR-9").await;
    let student = platform.create_user(&admin, "stu@example.org", "").await;
    set_external_id(&platform, &admin, &student, "HR-10").await;
    let coordinator = platform.create_user(&admin, "tia@example.org", "").await;
    platform
        .assign(&admin, &coordinator, "training_coordinator", "")
        .await;
    let token = platform
        .sign_in("tia@example.org", crate::fixture::USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let file = "external_id,email,given_name,family_name\n\
        HR-9,mallory@example.org,Test,Person\n\
        HR-10,stu.new@example.org,Test,Person\n";

    // The row that would take the administrator's sign-in is refused with its line, and the
    // import stops before anything changes.
    let progress = import(&platform, &token, ImportKind::Users, (false, false), file)
        .await
        .unwrap();
    assert_eq!(refused_lines(&progress), [(2, "external_id")]);
    let why = &progress
        .iter()
        .flat_map(|m| &m.errors)
        .next()
        .unwrap()
        .reason;
    assert!(why.contains("outrank"), "{why}");
    assert_eq!(progress.last().unwrap().rows_imported, 0);
    assert_eq!(platform.user(&admin, &lms).await.email, "lin@example.org");
    assert_eq!(
        platform.user(&admin, &student).await.email,
        "stu@example.org"
    );

    // Skipping bad rows skips it too; the row for someone below the coordinator goes in.
    let progress = import(&platform, &token, ImportKind::Users, (true, false), file)
        .await
        .unwrap();
    assert_eq!(refused_lines(&progress), [(2, "external_id")]);
    assert_eq!(progress.last().unwrap().rows_imported, 1);
    assert_eq!(platform.user(&admin, &lms).await.email, "lin@example.org");
    assert_eq!(
        platform.user(&admin, &student).await.email,
        "stu.new@example.org"
    );
}

#[tokio::test]
async fn skipping_bad_rows_never_imports_a_unit_cycle_or_an_orphan() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tree = "external_id,name,parent\nA,Alpha,\nB,Beta,A\n";
    import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (false, false),
        tree,
    )
    .await
    .unwrap();
    // Line 2 is refused (no such parent); without it, line 3 puts A under its own child B.
    // Line 5 hangs under the unit refused line 4 would have made.
    let file = "external_id,name,parent\n\
        B,Beta,NOPE\n\
        A,Alpha,B\n\
        N,New,NOPE\n\
        C,Child,N\n";
    let progress = import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (true, false),
        file,
    )
    .await
    .unwrap();
    assert_eq!(
        refused_lines(&progress),
        [(2, "parent"), (3, "parent"), (4, "parent"), (5, "parent")]
    );
    assert_eq!(progress.last().unwrap().rows_imported, 0);
    // Nothing moved and nothing was made: the first file still changes nothing.
    let again = import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (false, false),
        tree,
    )
    .await
    .unwrap();
    assert_eq!(again.last().unwrap().rows_unchanged, 2);
    let children = import(
        &platform,
        &admin,
        ImportKind::AccountGroups,
        (false, false),
        "external_id,name,parent\nC,Child,A\n",
    )
    .await
    .unwrap();
    assert_eq!(
        children.last().unwrap().rows_imported,
        1,
        "C was not made before"
    );
}
