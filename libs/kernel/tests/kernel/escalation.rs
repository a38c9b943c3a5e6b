use lms_kernel::escalation::{EscalationError, Target, check_assignment, check_definition};
use lms_kernel::{
    Grant, Grants, HeldRole, Permission as P, PermissionSet, Place, Reach, Template, TenantSettings,
};

use crate::world::World;

fn held(templates: &[Template], place: Place) -> Vec<HeldRole> {
    templates
        .iter()
        .map(|t| HeldRole::new(&t.role(), place))
        .collect()
}

#[test]
fn a_local_administrator_assigns_student_at_their_location_only() {
    let w = World::new();
    let admin = held(&[Template::LocalAdministrator], Place::Unit(w.city));
    let student = Template::Student.grants();
    let city = Target::Unit {
        unit: w.city,
        ancestors: &w.ancestors(w.city),
    };
    let branch = Target::Unit {
        unit: w.branch,
        ancestors: &w.ancestors(w.branch),
    };
    assert_eq!(
        check_assignment(&admin, &student, city, &w.settings),
        Ok(())
    );
    // The Local Administrator's reach stops at their own location.
    let Err(EscalationError::MissingGrants(_)) = check_assignment(
        &admin,
        &Template::LocalAdministrator.grants(),
        branch,
        &w.settings,
    ) else {
        panic!("a child location is outside a Local Administrator's reach");
    };
}

#[test]
fn a_multiple_location_administrator_assigns_local_administrators_below_them() {
    let w = World::new();
    let admin = held(
        &[Template::MultipleLocationAdministrator],
        Place::Unit(w.city),
    );
    let local = Template::LocalAdministrator.grants();
    let branch = Target::Unit {
        unit: w.branch,
        ancestors: &w.ancestors(w.branch),
    };
    let elsewhere = Target::Unit {
        unit: w.elsewhere,
        ancestors: &w.ancestors(w.elsewhere),
    };
    assert_eq!(
        check_assignment(&admin, &local, branch, &w.settings),
        Ok(())
    );
    assert!(check_assignment(&admin, &local, elsewhere, &w.settings).is_err());
}

#[test]
fn nobody_assigns_a_role_that_grants_more_than_they_hold_and_the_refusal_names_the_gap() {
    let w = World::new();
    let admin = held(&[Template::LocalAdministrator], Place::Unit(w.city));
    let city = Target::Unit {
        unit: w.city,
        ancestors: &w.ancestors(w.city),
    };
    let Err(EscalationError::MissingGrants(missing)) = check_assignment(
        &admin,
        &Template::LmsAdministrator.grants(),
        city,
        &w.settings,
    ) else {
        panic!("a Local Administrator cannot make an LMS Administrator");
    };
    assert!(missing.contains(&Grant {
        permission: P::SystemConfigurationUpdate,
        reach: Reach::Tenant
    }));
    assert!(missing.contains(&Grant {
        permission: P::UsersDelete,
        reach: Reach::Tenant
    }));
    // Grants the Local Administrator holds are not listed as missing.
    assert!(!missing.iter().any(|g| g.reach == Reach::Own));
}

#[test]
fn an_lms_administrator_assigns_every_single_tenant_template_but_the_access_coordinators_duties() {
    let w = World::new();
    let admin = held(&[Template::LmsAdministrator], Place::Tenant);
    let city = Target::Unit {
        unit: w.city,
        ancestors: &w.ancestors(w.city),
    };
    for template in Template::ALL {
        let grants = template.grants();
        if grants.required_settings().clients_enabled {
            continue;
        }
        // Exactly one Access Coordinator per tenant: identity hands the duty over, nobody
        // assigns it (DESIGN.md §1).
        if template == Template::AccessCoordinator {
            assert!(
                !template.assignable(),
                "nobody assigns the retired coordinator role: the hand-over moves the duty"
            );
            continue;
        }
        let target = if grants.required_settings().locations_enabled {
            city
        } else {
            Target::Tenant
        };
        assert_eq!(
            check_assignment(&admin, &grants, target, &w.settings),
            Ok(()),
            "{template:?}"
        );
    }
    // Master Administrator reaches clients, which an LMS Administrator does not.
    assert!(
        check_assignment(
            &admin,
            &Template::MasterAdministrator.grants(),
            Target::Tenant,
            &w.settings
        )
        .is_err()
    );
}

#[test]
fn a_training_coordinator_cannot_define_a_role_with_system_configuration() {
    let coordinator = held(&[Template::TrainingCoordinator], Place::Tenant);
    let grants = Grants::EMPTY.with(
        Reach::Tenant,
        PermissionSet::of(&[P::CoursesCreate, P::SystemConfigurationUpdate]),
    );
    assert_eq!(
        check_definition(&coordinator, &grants, &TenantSettings::default()),
        Err(EscalationError::MissingGrants(vec![Grant {
            permission: P::SystemConfigurationUpdate,
            reach: Reach::Tenant
        }]))
    );
    let narrower = Grants::EMPTY.with(
        Reach::Team,
        PermissionSet::of(&[P::UsersRead, P::BookingsCreate]),
    );
    assert_eq!(
        check_definition(&coordinator, &narrower, &TenantSettings::default()),
        Ok(())
    );
}

#[test]
fn roles_needing_locations_or_clients_need_the_tenant_setting() {
    let admin = held(&[Template::LmsAdministrator], Place::Tenant);
    let w = World::new();
    let city = Target::Unit {
        unit: w.city,
        ancestors: &w.ancestors(w.city),
    };
    let plain = TenantSettings::default();
    assert_eq!(
        check_assignment(&admin, &Template::LocalAdministrator.grants(), city, &plain),
        Err(EscalationError::TenantPrecondition(vec![
            "locations_enabled"
        ]))
    );
    assert_eq!(
        check_assignment(
            &admin,
            &Template::MasterAdministrator.grants(),
            Target::Tenant,
            &plain
        ),
        Err(EscalationError::TenantPrecondition(vec!["clients_enabled"]))
    );
}

#[test]
fn a_unit_role_must_be_assigned_at_a_unit() {
    let w = World::new();
    let admin = held(&[Template::LmsAdministrator], Place::Tenant);
    assert_eq!(
        check_assignment(
            &admin,
            &Template::LocalAdministrator.grants(),
            Target::Tenant,
            &w.settings
        ),
        Err(EscalationError::NeedsUnit)
    );
}

#[test]
fn a_dormant_grant_cannot_be_handed_on() {
    // A Master Administrator of a tenant whose clients are switched off holds nothing at
    // tenant_and_clients, so cannot make tenant-wide roles out of those grants.
    let master = held(&[Template::MasterAdministrator], Place::Tenant);
    let grants = Grants::EMPTY.with(Reach::Tenant, PermissionSet::of(&[P::ContentLibraryManage]));
    let off = TenantSettings::default();
    assert!(check_assignment(&master, &grants, Target::Tenant, &off).is_err());
    assert!(check_definition(&master, &grants, &off).is_err());
    let on = TenantSettings {
        clients_enabled: true,
        ..off
    };
    assert_eq!(
        check_assignment(&master, &grants, Target::Tenant, &on),
        Ok(())
    );
}

#[test]
fn a_copy_of_a_higher_role_keeps_no_responsibility_the_actor_lacks() {
    use lms_kernel::{CustomRoleId, Responsibility, Role, check_role};
    let organisation = held(&[Template::OrganizationAdministrator], Place::Tenant);
    let student_grants = Some(Template::Student.grants());
    let copy = Role::copy_of(
        &Template::LmsAdministrator.role(),
        CustomRoleId::generate(),
        "Narrow copy",
        student_grants,
    )
    .unwrap();
    let Err(EscalationError::MissingResponsibilities(missing)) =
        check_role(&organisation, &copy, &TenantSettings::default())
    else {
        panic!("the copy allows every responsibility, the actor none");
    };
    assert_eq!(missing, Responsibility::ALL.to_vec());
    // The same grants in a role from scratch allow no responsibility and pass.
    let plain = Role::custom(
        CustomRoleId::generate(),
        "Plain",
        Template::Student.grants(),
    )
    .unwrap();
    assert_eq!(
        check_role(&organisation, &plain, &TenantSettings::default()),
        Ok(())
    );
    // Whoever holds a role allowing them may hand them on.
    let lms = held(&[Template::LmsAdministrator], Place::Tenant);
    assert_eq!(check_role(&lms, &copy, &TenantSettings::default()), Ok(()));
}

#[test]
fn a_role_with_grants_beyond_the_actor_fails_check_role_like_check_definition() {
    use lms_kernel::{CustomRoleId, Role, check_role};
    let organisation = held(&[Template::OrganizationAdministrator], Place::Tenant);
    let security = Role::custom(
        CustomRoleId::generate(),
        "Security",
        Grants::EMPTY.with(
            Reach::Tenant,
            PermissionSet::of(&[P::SecuritySettingsUpdate]),
        ),
    )
    .unwrap();
    assert_eq!(
        check_role(&organisation, &security, &TenantSettings::default()),
        Err(EscalationError::MissingGrants(vec![Grant {
            permission: P::SecuritySettingsUpdate,
            reach: Reach::Tenant
        }]))
    );
}

#[test]
fn only_someone_who_could_have_assigned_all_a_persons_roles_administers_them() {
    use lms_kernel::check_dominance;
    let w = World::new();
    let lms = held(&[Template::LmsAdministrator], Place::Tenant);
    let coordinator = held(&[Template::TrainingCoordinator], Place::Tenant);
    let local = held(&[Template::LocalAdministrator], Place::Unit(w.city));
    let city_ancestors = w.ancestors(w.city);
    let city = Target::Unit {
        unit: w.city,
        ancestors: &city_ancestors,
    };
    let student = [(Template::Student.grants(), Target::Tenant)];
    let administrator = [
        (Template::Student.grants(), Target::Tenant),
        (Template::LmsAdministrator.grants(), Target::Tenant),
    ];
    assert_eq!(check_dominance(&lms, &student, &w.settings), Ok(()));
    assert_eq!(check_dominance(&lms, &administrator, &w.settings), Ok(()));
    assert_eq!(check_dominance(&coordinator, &student, &w.settings), Ok(()));
    let Err(EscalationError::MissingGrants(missing)) =
        check_dominance(&coordinator, &administrator, &w.settings)
    else {
        panic!("a Training Coordinator does not outrank an LMS Administrator");
    };
    assert!(
        missing
            .iter()
            .any(|g| g.permission == P::SystemConfigurationUpdate),
        "{missing:?}"
    );
    // A Local Administrator outranks a Student and a Local Administrator of their own location
    // only; nobody reaches someone holding a tenant-wide administrator role from a unit.
    let local_peer = [(Template::LocalAdministrator.grants(), city)];
    assert_eq!(check_dominance(&local, &student, &w.settings), Ok(()));
    assert_eq!(check_dominance(&local, &local_peer, &w.settings), Ok(()));
    assert!(check_dominance(&local, &administrator, &w.settings).is_err());
}
