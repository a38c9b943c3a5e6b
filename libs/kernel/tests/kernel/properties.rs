//! The kernel's rules as properties over generated subjects, roles and resources.

use lms_kernel::decision::Grounds;
use lms_kernel::escalation::{Target, check_assignment};
use lms_kernel::{
    CourseId, Decision, Denial, EventId, Grants, GroupId, HeldRole, Object, Permission,
    PermissionSet, Place, Reach, ResourceFacts, ResponsibilitySet, RoleId, SubjectFacts, Template,
    TenantId, TenantSettings, UnitId, UserId, decide,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// A fixed little world the generated facts point into: a unit tree (a ⊃ b, c apart), two
/// groups, two courses with an event each, three tenants (home, client, stranger).
struct Ids {
    tenants: [TenantId; 3],
    units: [UnitId; 3],
    groups: [GroupId; 2],
    courses: [CourseId; 2],
    events: [EventId; 2],
    users: [UserId; 3],
}

fn ids() -> &'static Ids {
    static IDS: std::sync::OnceLock<Ids> = std::sync::OnceLock::new();
    IDS.get_or_init(|| Ids {
        tenants: [
            TenantId::generate(),
            TenantId::generate(),
            TenantId::generate(),
        ],
        units: [UnitId::generate(), UnitId::generate(), UnitId::generate()],
        groups: [GroupId::generate(), GroupId::generate()],
        courses: [CourseId::generate(), CourseId::generate()],
        events: [EventId::generate(), EventId::generate()],
        users: [UserId::generate(), UserId::generate(), UserId::generate()],
    })
}

/// Units above `unit`, inclusive: b sits under a.
fn ancestors(unit: UnitId) -> Vec<UnitId> {
    let [a, b, _] = ids().units;
    if unit == b { vec![b, a] } else { vec![unit] }
}

fn permission() -> impl Strategy<Value = Permission> {
    select(Permission::ALL.to_vec())
}

fn reach() -> impl Strategy<Value = Reach> {
    select(Reach::ALL.to_vec())
}

fn grants() -> impl Strategy<Value = Grants> {
    prop::collection::vec((permission(), reach()), 0..12).prop_map(|pairs| {
        pairs
            .into_iter()
            .fold(Grants::EMPTY, |grants, (permission, reach)| {
                grants.with(reach, PermissionSet::of(&[permission]))
            })
    })
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Tenant),
        select(ids().units.to_vec()).prop_map(Place::Unit)
    ]
}

/// A role: a template, or custom grants (which may take no responsibility).
fn held_role() -> impl Strategy<Value = HeldRole> {
    let template = select(Template::ALL.to_vec()).prop_map(|t| t.role());
    prop_oneof![
        (template, place()).prop_map(|(role, place)| HeldRole::new(&role, place)),
        (grants(), place()).prop_map(|(grants, place)| HeldRole {
            assignment: None,
            role: RoleId::Custom(lms_kernel::CustomRoleId::generate()),
            grants,
            responsibilities: ResponsibilitySet::NONE,
            place,
        }),
    ]
}

fn settings() -> impl Strategy<Value = TenantSettings> {
    (any::<bool>(), any::<bool>()).prop_map(|(locations_enabled, clients_enabled)| TenantSettings {
        locations_enabled,
        clients_enabled,
        mfa_required_for_admins: false,
    })
}

/// A subject of the home tenant with generated relations and no roles yet.
fn relations() -> impl Strategy<Value = SubjectFacts> {
    let ids = ids();
    (
        settings(),
        subsequence(ids.groups.to_vec(), 0..=2),
        subsequence(ids.groups.to_vec(), 0..=2),
        subsequence(ids.courses.to_vec(), 0..=2),
        subsequence(ids.courses.to_vec(), 0..=2),
        subsequence(ids.events.to_vec(), 0..=2),
        subsequence(ids.courses.to_vec(), 0..=2),
        subsequence(ids.courses.to_vec(), 0..=2),
    )
        .prop_map(
            move |(
                settings,
                managed,
                administered,
                tutored,
                admin_courses,
                events,
                enrolled,
                offered,
            )| {
                let mut subject = SubjectFacts::new(ids.tenants[0], ids.users[0], settings);
                subject.clients = vec![ids.tenants[1]];
                subject.managed_groups = managed;
                subject.administered_groups = administered;
                subject.tutored_courses = tutored;
                subject.administered_courses = admin_courses;
                subject.administered_events = events;
                subject.enrolled_courses = enrolled;
                subject.offered_courses = offered;
                subject
            },
        )
}

fn subject() -> impl Strategy<Value = SubjectFacts> {
    (relations(), prop::collection::vec(held_role(), 0..4)).prop_map(|(mut subject, roles)| {
        subject.roles = roles;
        subject
    })
}

fn resource() -> impl Strategy<Value = ResourceFacts> {
    let ids = ids();
    let object = prop_oneof![
        4 => select(ids.users.to_vec()).prop_map(Object::User),
        1 => select(ids.groups.to_vec()).prop_map(Object::Group),
        1 => select(ids.courses.to_vec()).prop_map(Object::Course),
        1 => select(ids.courses.to_vec()).prop_map(|course| Object::Lesson { course }),
        1 => (0..2usize).prop_map(move |i| Object::Event { event: ids.events[i], course: ids.courses[i] }),
        1 => select(ids.units.to_vec()).prop_map(Object::Unit),
        1 => Just(Object::TenantWide),
        1 => select(ids.tenants.to_vec()).prop_map(Object::Tenant),
    ];
    (
        select(ids.tenants.to_vec()),
        object,
        subsequence(ids.units.to_vec(), 0..=2),
        prop::option::of(select(ids.groups.to_vec())),
        subsequence(ids.groups.to_vec(), 0..=2),
        subsequence(ids.users.to_vec(), 0..=2),
        any::<bool>(),
    )
        .prop_map(
            |(tenant, object, units, primary, groups, invited_by, restricted)| {
                let mut resource = ResourceFacts::new(tenant, object);
                resource.unit_ancestors = units.iter().flat_map(|u| ancestors(*u)).collect();
                resource.units = units;
                resource.primary_group = primary;
                resource.groups = groups;
                resource.invited_by = invited_by;
                resource.bookings_restricted = restricted;
                resource
            },
        )
}

/// Grants an assigner could plausibly hand out: some of what they hold, each at its reach or a
/// narrower one, plus now and then a grant they may not hold at all.
fn narrowed_grants(assigner: &SubjectFacts) -> impl Strategy<Value = Grants> + use<> {
    let mut candidates = Vec::new();
    for held in &assigner.roles {
        for reach in Reach::ALL {
            for permission in held.grants.at(reach).iter() {
                for narrower in Reach::ALL.into_iter().filter(|r| reach.covers(*r)) {
                    candidates.push((permission, narrower));
                }
            }
        }
    }
    let picked = if candidates.is_empty() {
        Just(Vec::new()).boxed()
    } else {
        prop::collection::vec(select(candidates), 0..8).boxed()
    };
    (picked, prop::option::weighted(0.2, (permission(), reach()))).prop_map(|(picked, extra)| {
        picked
            .into_iter()
            .chain(extra)
            .fold(Grants::EMPTY, |grants, (permission, reach)| {
                grants.with(reach, PermissionSet::of(&[permission]))
            })
    })
}

fn with_roles(subject: &SubjectFacts, roles: Vec<HeldRole>) -> SubjectFacts {
    SubjectFacts {
        roles,
        ..subject.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A role the escalation rule lets an assigner hand out, held by someone with the same
    /// relations, never allows what the assigner's own roles deny.
    #[test]
    fn no_role_passing_the_escalation_rule_grants_what_its_assigner_lacks(
        (assigner, role, permission, target_unit) in subject()
            .prop_flat_map(|assigner| {
                let role = narrowed_grants(&assigner);
                (Just(assigner), role)
            })
            .prop_flat_map(|(assigner, role)| {
                // Mostly decide on what the role grants: that is where an escalation would show.
                let granted: Vec<_> = role.permissions().iter().collect();
                let permission = if granted.is_empty() {
                    permission().boxed()
                } else {
                    prop_oneof![4 => select(granted), 1 => permission()].boxed()
                };
                // Assign where the assigner's own roles sit, half the time.
                let places: Vec<_> = assigner
                    .roles
                    .iter()
                    .filter_map(|held| match held.place {
                        Place::Unit(unit) => Some(unit),
                        Place::Tenant => None,
                    })
                    .collect();
                let any_unit = prop::option::of(select(ids().units.to_vec()));
                let target = if places.is_empty() {
                    any_unit.boxed()
                } else {
                    prop_oneof![any_unit, select(places).prop_map(Some)].boxed()
                };
                (Just(assigner), Just(role), permission, target)
            }),
        resource in resource(),
    ) {
        let ancestors = target_unit.map(ancestors).unwrap_or_default();
        let (target, place) = match target_unit {
            Some(unit) => (Target::Unit { unit, ancestors: &ancestors }, Place::Unit(unit)),
            None => (Target::Tenant, Place::Tenant),
        };
        if check_assignment(&assigner.roles, &role, target, &assigner.settings).is_ok() {
            let assignee = with_roles(&assigner, vec![HeldRole {
                assignment: None,
                role: RoleId::Custom(lms_kernel::CustomRoleId::generate()),
                grants: role,
                responsibilities: ResponsibilitySet::NONE,
                place,
            }]);
            if decide(&assignee, permission, &resource).is_allowed() {
                prop_assert!(
                    decide(&assigner, permission, &resource).is_allowed(),
                    "{permission} allowed by the assigned role but not to its assigner"
                );
            }
        }
    }

    /// Adding a grant never turns an allow into a deny.
    #[test]
    fn adding_a_grant_never_turns_an_allow_into_a_deny(
        subject in subject(),
        extra_permission in permission(),
        extra_reach in reach(),
        extra_place in place(),
        permission in permission(),
        resource in resource(),
    ) {
        let before = decide(&subject, permission, &resource);
        let mut more = subject.clone();
        match more.roles.first_mut() {
            Some(role) => role.grants = role.grants.with(extra_reach, PermissionSet::of(&[extra_permission])),
            None => more.roles.push(HeldRole {
                assignment: None,
                role: RoleId::Custom(lms_kernel::CustomRoleId::generate()),
                grants: Grants::EMPTY.with(extra_reach, PermissionSet::of(&[extra_permission])),
                responsibilities: ResponsibilitySet::NONE,
                place: extra_place,
            }),
        }
        if before.is_allowed() {
            prop_assert!(decide(&more, permission, &resource).is_allowed());
        }
    }

    /// A Reports Only twin never allows what its counterpart denies.
    #[test]
    fn a_reports_only_twin_never_allows_what_its_counterpart_denies(
        relations in relations(),
        twin in select(vec![
            Template::LocalAdministratorReportsOnly,
            Template::MultipleLocationAdministratorReportsOnly,
            Template::OrganizationAdministratorReportsOnly,
            Template::MasterAdministratorReportsOnly,
        ]),
        place in place(),
        permission in permission(),
        resource in resource(),
    ) {
        let counterpart = twin.reports_only_counterpart().unwrap();
        let as_twin = with_roles(&relations, vec![HeldRole::new(&twin.role(), place)]);
        let as_counterpart = with_roles(&relations, vec![HeldRole::new(&counterpart.role(), place)]);
        if decide(&as_twin, permission, &resource).is_allowed() {
            prop_assert!(decide(&as_counterpart, permission, &resource).is_allowed());
        }
    }

    /// Nothing allows across tenants except a `tenant_and_clients` grant reaching a client
    /// tenant with `clients_enabled` on.
    #[test]
    fn no_decision_allows_across_tenants_outside_tenant_and_clients(
        subject in subject(),
        permission in permission(),
        resource in resource(),
    ) {
        if resource.tenant != subject.tenant {
            match decide(&subject, permission, &resource) {
                Decision::Allowed(Grounds::Role { reach, .. }) => {
                    prop_assert_eq!(reach, Reach::TenantAndClients);
                    prop_assert!(subject.settings.clients_enabled);
                    prop_assert!(subject.clients.contains(&resource.tenant));
                }
                Decision::Allowed(other) => prop_assert!(false, "cross-tenant allow by {other:?}"),
                Decision::Denied(_) => {}
            }
        }
    }

    /// A tenant object belongs to itself: `Object::Tenant(x)` is never held as another tenant's,
    /// and a disagreeing `tenant` written into the facts afterwards changes no decision.
    #[test]
    fn a_tenant_object_is_always_owned_by_that_tenant(
        subject in subject(),
        permission in permission(),
        claimed in select(ids().tenants.to_vec()),
        tenant in select(ids().tenants.to_vec()),
    ) {
        let facts = ResourceFacts::new(claimed, Object::Tenant(tenant));
        prop_assert_eq!(facts.tenant, tenant);
        prop_assert_eq!(facts.owner(), tenant);
        let tampered = ResourceFacts { tenant: claimed, ..facts.clone() };
        prop_assert_eq!(
            decide(&subject, permission, &tampered),
            decide(&subject, permission, &facts)
        );
    }

    /// A subject authorization never heard of is allowed nothing, whatever it seems to hold.
    #[test]
    fn an_unknown_subject_is_denied_everything(
        subject in subject(),
        permission in permission(),
        resource in resource(),
    ) {
        let unknown = SubjectFacts { known: false, ..subject };
        prop_assert_eq!(
            decide(&unknown, permission, &resource),
            Decision::Denied(Denial::SubjectUnknown)
        );
    }

    /// A resource authorization never heard of is allowed to nobody.
    #[test]
    fn an_unknown_resource_is_never_allowed(
        subject in subject(),
        permission in permission(),
        resource in resource(),
    ) {
        let unknown = ResourceFacts { known: false, ..resource };
        prop_assert!(!decide(&subject, permission, &unknown).is_allowed());
    }

    /// A password-only session of an administrator is denied exactly what its withheld
    /// administrator grants would allow, and told that a second factor is what is missing.
    #[test]
    fn a_session_without_second_factor_is_told_mfa_is_required(
        subject in subject(),
        permission in permission(),
        resource in resource(),
    ) {
        let settings = TenantSettings { mfa_required_for_admins: true, ..subject.settings };
        let full = SubjectFacts { settings, ..subject };
        let session = full.without_second_factor();
        let with_factor = decide(&full, permission, &resource);
        match decide(&session, permission, &resource) {
            Decision::Allowed(_) => prop_assert!(with_factor.is_allowed()),
            Decision::Denied(Denial::SecondFactorRequired) => {
                prop_assert!(with_factor.is_allowed());
            }
            Decision::Denied(_) => prop_assert!(!with_factor.is_allowed()),
        }
    }

    /// Every decision allowing something goes through one of the subject's holdings of the
    /// permission (`lms_kernel::holdings`): the role's reach at its place, a responsibility, or
    /// the Access Coordinator's duties. What reporting turns into SQL conditions never misses
    /// a way Check allows.
    #[test]
    fn every_decision_on_a_person_goes_through_a_holding(
        subject in subject(),
        permission in permission(),
        resource in resource(),
    ) {
        let held = lms_kernel::holdings(&subject, permission);
        match decide(&subject, permission, &resource) {
            Decision::Allowed(Grounds::Role { role, place, reach }) => {
                let holding = lms_kernel::HeldReach { reach, place, role: Some(role) };
                prop_assert!(held.reaches.contains(&holding), "{holding:?} not in {held:?}");
            }
            Decision::Allowed(Grounds::Responsibility(responsibility)) => {
                prop_assert!(held.responsibilities.contains(&responsibility));
            }
            Decision::Allowed(Grounds::AccessCoordinator) => {
                prop_assert!(held.reaches.iter().any(|h| h.role.is_none()));
            }
            // Courses seen through a catalogue or a content grant: no person is reached so.
            Decision::Allowed(Grounds::Catalogue | Grounds::ContentGrant) => {
                prop_assert!(!matches!(resource.object, Object::User(_)));
            }
            Decision::Denied(_) => {}
        }
        if !subject.known || subject.status != lms_kernel::UserStatus::Active {
            prop_assert!(held.is_empty());
        }
    }
}
