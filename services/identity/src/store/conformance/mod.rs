//! The identity store's behaviours, run against PostgreSQL and SQLite alike
//! (`lms_testkit::store_conformance!` below): the dialects differ in types and locking, so each
//! backend proves them here. Cases are grouped by aggregate.

use lms_kernel::{GroupId, TenantId, TenantSettings, UnitId, UnitKind, UserId};
use uuid::Uuid;

use super::{
    AccountOwner, AccountReach, AccountSecret, Attempt, Deleted, EmploymentRecord, GroupRecord,
    ImportBatch, MfaChallenge, Moved, Redeemed, RefreshRecord, ServiceAccountRecord, Store,
    StoreError, TenantRecord, UnitFilter, UnitRecord, UserChange, UserFilter, UserRecord,
};

mod credentials;
mod groups;
mod imports;
mod tenants;
mod units;
mod users;

pub(super) fn unit(kind: UnitKind, name: &str, parent: Option<UnitId>) -> UnitRecord {
    UnitRecord {
        id: UnitId::generate(),
        kind,
        name: name.into(),
        parent,
        external_id: None,
    }
}

/// An active user with `email`, not yet stored.
pub(super) fn user(email: &str) -> UserRecord {
    UserRecord {
        id: UserId::generate(),
        email: Some(lms_kernel::Email::parse(email).unwrap()),
        given_name: "A".into(),
        family_name: "B".into(),
        status: lms_kernel::UserStatus::Active,
        account_kind: lms_kernel::AccountKind::Standard,
        restrict_bookings: false,
        primary_group: None,
        custom_fields: "{}".into(),
        external_id: None,
        password_hash: None,
        last_sign_in_at: None,
        created_by: "test".into(),
        created_at: 1,
    }
}

/// `user`'s main employment at `unit`.
pub(super) fn employment(user: UserId, unit: UnitId) -> EmploymentRecord {
    EmploymentRecord {
        id: Uuid::now_v7(),
        user,
        unit,
        starts_at: 1,
        ends_at: None,
        main_account: true,
    }
}

/// A tenant with its Guest account and one user employed there.
pub(super) async fn tenant(store: &impl Store) -> (TenantId, UnitRecord, UserId) {
    new_tenant(store, false).await
}

/// A tenant whose Access Coordinator is its first user (returned), employed at the Guest account.
pub(super) async fn coordinated_tenant(store: &impl Store) -> (TenantId, UnitRecord, UserId) {
    new_tenant(store, true).await
}

async fn new_tenant(store: &impl Store, coordinated: bool) -> (TenantId, UnitRecord, UserId) {
    let user = user("a@example.org");
    let tenant = TenantRecord {
        id: TenantId::generate(),
        name: "T".into(),
        settings: TenantSettings::default(),
        master: None,
        access_coordinator: coordinated.then_some(user.id),
        created_by: "test".into(),
        created_at: 1,
    };
    let guest = unit(UnitKind::GuestAccount, "Guest", None);
    store
        .create_tenant(
            &tenant,
            &guest,
            &user,
            &employment(user.id, guest.id),
            &[],
            &audit(),
        )
        .await
        .unwrap();
    (tenant.id, guest, user.id)
}

lms_testkit::store_conformance! {
    migrations: crate::MIGRATIONS,
    postgres: |pool| crate::store::PgStore::new(pool, crate::sealing::test_sealer("test")),
    sqlite: |pool| crate::store::SqliteStore::new(pool, crate::sealing::test_sealer("test")),
    cases: {
        tenants: [
            the_access_coordinator_hands_over_only_from_the_current_holder,
            each_tenants_coordinator_is_announced_once,
        ],
        units: [
            unit_tree_refuses_cycles_and_deletes_only_empty_units,
            a_taken_external_id_names_the_unit,
        ],
        groups: [
            leaving_a_group_ends_it_being_the_primary_group,
        ],
        users: [
            user_lists_filter_by_text_visibility_and_page,
            a_conditional_commit_checks_the_person_as_stored_and_refuses_whole,
        ],
        imports: [
            an_import_batch_lands_whole_and_the_snapshot_sees_it,
        ],
        credentials: [
            a_refresh_token_redeemed_twice_revokes_its_session,
            a_totp_step_is_accepted_once,
            a_burst_of_parallel_attempts_gets_exactly_the_threshold_through,
            challenge_guesses_are_counted_before_the_check_and_one_challenge_is_open,
            a_password_change_ends_every_other_session_and_reports_them,
            service_account_names_are_unique_per_owner_and_a_tenant_reaches_its_own,
        ],
    }
}

/// The record every conformance write carries: what is audited is tested over gRPC.
fn audit() -> crate::audit::Audit {
    by().did(
        "conformance",
        crate::audit::Object::custom_field("conformance"),
    )
}

/// The actor of conformance writes.
fn by() -> crate::audit::Actor {
    crate::audit::Actor::Service("conformance".into())
}
