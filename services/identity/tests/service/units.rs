//! The unit tree: locations nest, moves never make a cycle, only empty units are deleted, and
//! the tree reaches authorization so subtree reaches follow a move.

use lms_api::authorization::v1::AssignRoleRequest;
use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    CreateUnitRequest, DeleteUnitRequest, GetUnitRequest, ListUnitsRequest, MoveUnitRequest,
    RenameUnitRequest, TenantSettings, Unit, UnitKind,
};
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, fields, object, reason};

fn with_locations() -> TenantSettings {
    TenantSettings {
        locations_enabled: true,
        ..Default::default()
    }
}

async fn create(
    platform: &Platform,
    admin: &str,
    kind: UnitKind,
    name: &str,
    parent: &str,
) -> Unit {
    platform
        .units(admin)
        .create_unit(CreateUnitRequest {
            kind: kind as i32,
            name: name.into(),
            parent_unit_id: parent.into(),
            external_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
}

async fn parent_of(platform: &Platform, admin: &str, unit: &Unit) -> String {
    platform
        .units(admin)
        .get_unit(GetUnitRequest {
            unit_id: unit.unit_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .parent_unit_id
}

#[tokio::test]
async fn a_move_that_would_make_a_cycle_is_refused_and_changes_nothing() {
    let platform = Platform::start_with(with_locations()).await;
    let admin = platform.admin_token().await;
    let north = create(&platform, &admin, UnitKind::Location, "North", "").await;
    let leeds = create(
        &platform,
        &admin,
        UnitKind::Location,
        "Leeds",
        &north.unit_id,
    )
    .await;
    let campus = create(
        &platform,
        &admin,
        UnitKind::Location,
        "Campus",
        &leeds.unit_id,
    )
    .await;

    for new_parent in [&campus, &north] {
        let refused = platform
            .units(&admin)
            .move_unit(MoveUnitRequest {
                unit_id: north.unit_id.clone(),
                new_parent_unit_id: new_parent.unit_id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(reason(&refused), "UNIT_CYCLE");
    }
    assert_eq!(parent_of(&platform, &admin, &north).await, "");
    assert_eq!(parent_of(&platform, &admin, &leeds).await, north.unit_id);

    // A move that keeps the tree a tree goes through.
    let moved = platform
        .units(&admin)
        .move_unit(MoveUnitRequest {
            unit_id: campus.unit_id.clone(),
            new_parent_unit_id: north.unit_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(moved.written_at.is_some());
    assert_eq!(moved.unit.unwrap().parent_unit_id, north.unit_id);
}

#[tokio::test]
async fn a_unit_is_deleted_only_when_it_has_no_children_and_no_employees() {
    let platform = Platform::start_with(with_locations()).await;
    let admin = platform.admin_token().await;
    let region = create(&platform, &admin, UnitKind::Location, "Region", "").await;
    let account = create(
        &platform,
        &admin,
        UnitKind::CustomerAccount,
        "Globex",
        &region.unit_id,
    )
    .await;
    let employee = platform
        .create_user(&admin, "hank@globex.example", &account.unit_id)
        .await;
    assert!(!employee.is_empty());

    for unit in [&region, &account] {
        let refused = platform
            .units(&admin)
            .delete_unit(DeleteUnitRequest {
                unit_id: unit.unit_id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{unit:?}");
        assert_eq!(reason(&refused), "UNIT_NOT_EMPTY");
    }

    let empty = create(
        &platform,
        &admin,
        UnitKind::ProviderAccount,
        "Us",
        &region.unit_id,
    )
    .await;
    platform
        .units(&admin)
        .delete_unit(DeleteUnitRequest {
            unit_id: empty.unit_id.clone(),
        })
        .await
        .unwrap();
    let gone = platform
        .units(&admin)
        .get_unit(GetUnitRequest {
            unit_id: empty.unit_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn locations_need_the_tenant_switch_and_accounts_cannot_hold_units() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let refused = platform
        .units(&admin)
        .create_unit(CreateUnitRequest {
            kind: UnitKind::Location as i32,
            name: "Leeds".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "LOCATIONS_DISABLED");

    let account = create(&platform, &admin, UnitKind::CustomerAccount, "Initech", "").await;
    let refused = platform
        .units(&admin)
        .create_unit(CreateUnitRequest {
            kind: UnitKind::AccountGroup as i32,
            name: "Under an account".into(),
            parent_unit_id: account.unit_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["parent_unit_id"]);

    let refused = platform
        .units(&admin)
        .create_unit(CreateUnitRequest {
            kind: UnitKind::GuestAccount as i32,
            name: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn units_list_by_parent_and_kind_in_pages_and_rename() {
    let platform = Platform::start_with(with_locations()).await;
    let admin = platform.admin_token().await;
    let group = create(&platform, &admin, UnitKind::AccountGroup, "Customers", "").await;
    for name in ["A", "B", "C"] {
        create(
            &platform,
            &admin,
            UnitKind::CustomerAccount,
            name,
            &group.unit_id,
        )
        .await;
    }
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = platform
            .units(&admin)
            .list_units(ListUnitsRequest {
                parent_unit_id: group.unit_id.clone(),
                kind: UnitKind::CustomerAccount as i32,
                page_size: 2,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        names.extend(page.units.into_iter().map(|u| u.name));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(names, ["A", "B", "C"]);

    let renamed = platform
        .units(&admin)
        .rename_unit(RenameUnitRequest {
            unit_id: group.unit_id.clone(),
            name: "Key customers".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(renamed.name, "Key customers");
}

#[tokio::test]
async fn a_multiple_location_administrator_reaches_people_of_a_location_moved_under_theirs() {
    let platform = Platform::start_with(with_locations()).await;
    let admin = platform.admin_token().await;
    let north = create(&platform, &admin, UnitKind::Location, "North", "").await;
    let south = create(&platform, &admin, UnitKind::Location, "South", "").await;
    let account = create(
        &platform,
        &admin,
        UnitKind::CustomerAccount,
        "Southern Co",
        &south.unit_id,
    )
    .await;
    let learner = platform
        .create_user(&admin, "sam@southern.example", &account.unit_id)
        .await;
    let regional = platform
        .create_user(&admin, "rita@example.org", &north.unit_id)
        .await;
    platform
        .assign(
            &admin,
            &regional,
            "multiple_location_administrator",
            &north.unit_id,
        )
        .await;
    let rita = platform
        .sign_in("rita@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let learner_ref = object(ObjectType::User, &learner);
    assert!(
        !platform
            .allowed(&rita, "users.read", learner_ref.clone(), None)
            .await
    );

    let moved = platform
        .units(&admin)
        .move_unit(MoveUnitRequest {
            unit_id: south.unit_id.clone(),
            new_parent_unit_id: north.unit_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        platform
            .allowed(&rita, "users.read", learner_ref.clone(), moved.written_at)
            .await,
        "with the move's token the decision sees South under North"
    );

    // A location administrator may not take the unit out of their reach.
    let refused = platform
        .units(&rita)
        .move_unit(MoveUnitRequest {
            unit_id: south.unit_id.clone(),
            new_parent_unit_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn roles_are_assigned_at_units_identity_created_and_never_at_deleted_ones() {
    let platform = Platform::start_with(with_locations()).await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "lou@example.org", "").await;
    // An empty root location: nobody employed, no parent, no child.
    let leeds = create(&platform, &admin, UnitKind::Location, "Leeds", "").await;
    platform
        .assign(&admin, &user, "local_administrator", &leeds.unit_id)
        .await;
    let york = create(&platform, &admin, UnitKind::Location, "York", "").await;
    platform
        .units(&admin)
        .delete_unit(DeleteUnitRequest {
            unit_id: york.unit_id.clone(),
        })
        .await
        .unwrap();
    let refused = platform
        .roles(&admin)
        .assign_role(AssignRoleRequest {
            user_id: user,
            role_id: "builtin:local_administrator".into(),
            unit_id: york.unit_id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
}
