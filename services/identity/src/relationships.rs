//! The relationship facts identity owns and authorization reads (DESIGN.md §2), built from
//! records: one builder per change, named after it, each answering the outbox events that
//! carry it (one `WriteRelationshipsRequest` per change), plus the roles identity gives through
//! the outbox. Handlers call one builder per change and never build a fact themselves.
//!
//! The few builders that answer bare [`RelationshipUpdate`]s exist for the import, which
//! gathers the facts of a thousand rows into one event.

use lms_api::authorization::v1::{
    AssignRoleRequest, AssignmentSource, Operation, Relation, Relationship, RelationshipUpdate,
    SubjectStatus, TenantFacts, WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_kernel::{GroupId, RoleId, Template, TenantId, TenantSettings, UnitId, UserId, UserStatus};
use lms_runtime::outbox;
use uuid::Uuid;

use crate::convert::{reference, timestamp};
use crate::store::{
    EmploymentChange, EmploymentRecord, GroupRecord, NewEvent, UnitRecord, UserRecord,
};

fn unit_ref(unit: UnitId) -> ObjectReference {
    reference(ObjectType::Unit, unit)
}

fn user_ref(user: UserId) -> ObjectReference {
    reference(ObjectType::User, user)
}

fn group_ref(group: GroupId) -> ObjectReference {
    reference(ObjectType::Group, group)
}

fn tenant_ref(tenant: TenantId) -> ObjectReference {
    reference(ObjectType::Tenant, tenant)
}

fn update(
    operation: Operation,
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    window: (Option<i64>, Option<i64>),
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: operation as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            valid_from: window.0.map(timestamp),
            valid_until: window.1.map(timestamp),
        }),
    }
}

/// `resource` has `relation` to `subject` (for all time).
fn touch(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    update(Operation::Touch, resource, relation, subject, (None, None))
}

/// `resource` has `relation` to `subject` from `starts_at` until `ends_at` (exclusive).
fn touch_between(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    starts_at: i64,
    ends_at: Option<i64>,
) -> RelationshipUpdate {
    update(
        Operation::Touch,
        resource,
        relation,
        subject,
        (Some(starts_at), ends_at),
    )
}

/// `resource` no longer has `relation` to `subject`.
fn delete(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    update(Operation::Delete, resource, relation, subject, (None, None))
}

/// `resource` has `relation` to `subject`, or no longer has it.
fn set(
    holds: bool,
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    match holds {
        true => touch(resource, relation, subject),
        false => delete(resource, relation, subject),
    }
}

/// A user's status and booking restriction as decisions see them.
pub fn status(user: &UserRecord) -> SubjectStatus {
    SubjectStatus {
        user_id: user.id.to_string(),
        status: user.status.code().into(),
        restrict_bookings: user.restrict_bookings,
    }
}

/// One batch of facts as an outbox event.
fn event(updates: Vec<RelationshipUpdate>, statuses: Vec<SubjectStatus>) -> NewEvent {
    outbox::facts(WriteRelationshipsRequest {
        event_id: String::new(),
        updates,
        tenant_facts: None,
        statuses,
    })
}

/// The batch as events: none when it changes nothing, else one.
pub fn events(updates: Vec<RelationshipUpdate>, statuses: Vec<SubjectStatus>) -> Vec<NewEvent> {
    if updates.is_empty() && statuses.is_empty() {
        return Vec::new();
    }
    vec![event(updates, statuses)]
}

// Tenants.

/// The tenant's switches as authorization reads them (a new tenant's, or changed ones).
pub fn tenant_settings_changed(settings: &TenantSettings) -> NewEvent {
    outbox::facts(WriteRelationshipsRequest {
        tenant_facts: Some(TenantFacts {
            locations_enabled: settings.locations_enabled,
            clients_enabled: settings.clients_enabled,
            mfa_required_for_admins: settings.mfa_required_for_admins,
        }),
        ..Default::default()
    })
}

/// `client` became a client of `master` (`linked`), or stopped being one. The CLIENT fact
/// lives in the master's facts, so its Master Administrators reach the client.
pub fn client_link_changed(master: TenantId, client: TenantId, linked: bool) -> NewEvent {
    let update = set(
        linked,
        tenant_ref(master),
        Relation::Client,
        tenant_ref(client),
    );
    event(vec![update], vec![])
}

/// The tenant's Access Coordinator duty moves from `from` (none for a new tenant) to `to`: one
/// batch, so authorization never sees two coordinators or none.
pub fn access_coordinator_changed(tenant: TenantId, from: Option<UserId>, to: UserId) -> NewEvent {
    let mut updates = Vec::new();
    if let Some(from) = from {
        updates.push(delete(
            tenant_ref(tenant),
            Relation::AccessCoordinator,
            user_ref(from),
        ));
    }
    updates.push(touch(
        tenant_ref(tenant),
        Relation::AccessCoordinator,
        user_ref(to),
    ));
    event(updates, vec![])
}

// Units.

/// The PARENT_UNIT facts of a unit leaving `old` for `new` (either may be none: a root).
pub fn parent_changed(
    unit: UnitId,
    old: Option<UnitId>,
    new: Option<UnitId>,
) -> Vec<RelationshipUpdate> {
    let mut updates = Vec::new();
    if let Some(old) = old {
        updates.push(delete(unit_ref(unit), Relation::ParentUnit, unit_ref(old)));
    }
    if let Some(new) = new {
        updates.push(touch(unit_ref(unit), Relation::ParentUnit, unit_ref(new)));
    }
    updates
}

/// A unit of `tenant` exists: authorization assigns roles only at units it was told of.
pub fn unit_exists(tenant: TenantId, unit: UnitId) -> RelationshipUpdate {
    touch(unit_ref(unit), Relation::UnitOfTenant, tenant_ref(tenant))
}

/// A new unit of `tenant` exists and hangs under its parent (if any).
pub fn unit_created(tenant: TenantId, unit: &UnitRecord) -> Vec<NewEvent> {
    let mut updates = vec![unit_exists(tenant, unit.id)];
    updates.extend(parent_changed(unit.id, None, unit.parent));
    vec![event(updates, vec![])]
}

/// A unit moved from `old` to `new` parent.
pub fn unit_moved(unit: UnitId, old: Option<UnitId>, new: Option<UnitId>) -> Vec<NewEvent> {
    vec![event(parent_changed(unit, old, new), vec![])]
}

/// A deleted unit of `tenant` no longer exists nor hangs under its parent.
pub fn unit_deleted(tenant: TenantId, unit: &UnitRecord) -> Vec<NewEvent> {
    let mut updates = vec![delete(
        unit_ref(unit.id),
        Relation::UnitOfTenant,
        tenant_ref(tenant),
    )];
    updates.extend(parent_changed(unit.id, unit.parent, None));
    vec![event(updates, vec![])]
}

// Users and employments.

/// When the user counts as employed at `employment`'s unit, of their employments there
/// (`employment` as it is now, the others among `theirs`: their employments at any unit, in any
/// order): those that overlap or touch count as one, and of those the one in force at `now`,
/// else the next to begin, else the last to have ended. One fact per unit and person carries
/// it, so a past employment there never narrows a current one, and a break between two never
/// counts as employed. A rehire planned ahead, after a break, is told when it is the next to
/// begin (the next change of the person's employments, or a rebuild).
fn employed_span(
    employment: &EmploymentRecord,
    theirs: &[EmploymentRecord],
    now: i64,
) -> (i64, Option<i64>) {
    let mut windows: Vec<(i64, Option<i64>)> = theirs
        .iter()
        .filter(|e| e.unit == employment.unit && e.user == employment.user)
        .filter(|e| e.id != employment.id)
        .chain(std::iter::once(employment))
        .map(|e| (e.starts_at, e.ends_at))
        .collect();
    windows.sort_unstable();
    let mut spans: Vec<(i64, Option<i64>)> = Vec::with_capacity(windows.len());
    for (from, until) in windows {
        match spans.last_mut() {
            Some((_, last)) if last.is_none_or(|end| from <= end) => {
                *last = last.zip(until).map(|(a, b)| a.max(b));
            }
            _ => spans.push((from, until)),
        }
    }
    let in_force =
        |&&(from, until): &&(i64, Option<i64>)| from <= now && until.is_none_or(|u| now < u);
    *spans
        .iter()
        .find(in_force)
        .or_else(|| spans.iter().find(|(from, _)| *from > now))
        .or(spans.last())
        .expect("the employment itself is a span")
}

/// An employment: the user is employed at the unit (for [`employed_span`] of `theirs`, their
/// other employments, at `now`), and it may be their main account for its own dates.
pub fn employed(
    employment: &EmploymentRecord,
    theirs: &[EmploymentRecord],
    now: i64,
) -> Vec<RelationshipUpdate> {
    let unit = unit_ref(employment.unit);
    let user = user_ref(employment.user);
    let (from, until) = employed_span(employment, theirs, now);
    let mut updates = vec![touch_between(
        unit.clone(),
        Relation::Employee,
        user.clone(),
        from,
        until,
    )];
    if employment.main_account {
        updates.push(touch_between(
            unit,
            Relation::MainAccount,
            user,
            employment.starts_at,
            employment.ends_at,
        ));
    }
    updates
}

/// An employment that no longer counts (ended early, or the account is gone): the user is
/// neither employed at `unit` nor is it their main account.
pub fn not_employed(unit: UnitId, user: UserId) -> [RelationshipUpdate; 2] {
    let (unit, user) = (unit_ref(unit), user_ref(user));
    [Relation::Employee, Relation::MainAccount]
        .map(|relation| delete(unit.clone(), relation, user.clone()))
}

/// A main employment ended at `at` by a move to another unit (the people-data import): the
/// user was employed at the old unit until then (unless `theirs`, their other employments,
/// hold them there longer), and it no longer holds their main account.
/// The store keeps the ended employment, so these are the facts it leaves standing.
pub fn moved_away(
    old: &EmploymentRecord,
    theirs: &[EmploymentRecord],
    at: i64,
) -> Vec<RelationshipUpdate> {
    let ended = EmploymentRecord {
        ends_at: Some(at),
        main_account: false,
        ..old.clone()
    };
    let mut updates = employed(&ended, theirs, at);
    updates.push(delete(
        unit_ref(old.unit),
        Relation::MainAccount,
        user_ref(old.user),
    ));
    updates
}

/// A new user: their status and their (main) employment.
pub fn user_created(user: &UserRecord, employment: &EmploymentRecord) -> NewEvent {
    // Their only employment: its own dates, whenever.
    event(
        employed(employment, &[], employment.starts_at),
        vec![status(user)],
    )
}

/// A user's status or booking restriction changed.
pub fn status_changed(user: &UserRecord) -> NewEvent {
    event(vec![], vec![status(user)])
}

/// A deleted account: authorization forgets its employments and its role assignments, and
/// that the id may do anything at all (its status reads as anonymised from now on).
pub fn user_deleted(user: &UserRecord, employments: &[EmploymentRecord]) -> Vec<NewEvent> {
    let updates = employments
        .iter()
        .flat_map(|e| not_employed(e.unit, user.id))
        .collect();
    let gone = UserRecord {
        status: UserStatus::Anonymised,
        ..user.clone()
    };
    vec![
        event(updates, vec![status(&gone)]),
        outbox::revoke_every_role(user.id),
    ]
}

/// What a deleted account held in groups.
#[derive(Clone, Debug, Default)]
pub struct GroupsHeld {
    /// Its primary group.
    pub team: Option<GroupId>,
    /// Groups it was a member of.
    pub member_of: Vec<GroupId>,
    /// Groups it administered.
    pub administers: Vec<GroupId>,
    /// Groups it managed.
    pub manages: Vec<GroupId>,
}

/// A deleted account leaves its groups: no group holds it as member, team member,
/// administrator or manager any more (so no fact names an id that is gone), one event per
/// thousand.
pub fn groups_left(user: UserId, held: &GroupsHeld) -> Vec<NewEvent> {
    let gone = |relation: Relation, groups: &[GroupId]| {
        groups
            .iter()
            .map(move |group| delete(group_ref(*group), relation, user_ref(user)))
            .collect::<Vec<_>>()
    };
    let mut updates = gone(Relation::PrimaryMember, held.team.as_slice());
    updates.extend(gone(Relation::Member, &held.member_of));
    updates.extend(gone(Relation::Administrator, &held.administers));
    updates.extend(gone(Relation::Manager, &held.manages));
    updates
        .chunks(outbox::RECORDS_PER_EVENT)
        .map(|chunk| event(chunk.to_vec(), vec![]))
        .collect()
}

/// An employment added (`change` as the store saw it): its facts, and when it is the main
/// account now, the previous main account stops being main.
pub fn employment_added(
    change: &EmploymentChange,
    employment: &EmploymentRecord,
    now: i64,
) -> Vec<NewEvent> {
    main_moved(change, employment, now)
}

/// An employment made the main account: it is main, the previous one stops being main.
pub fn main_account_set(
    change: &EmploymentChange,
    main: &EmploymentRecord,
    now: i64,
) -> Vec<NewEvent> {
    main_moved(change, main, now)
}

fn main_moved(change: &EmploymentChange, employment: &EmploymentRecord, now: i64) -> Vec<NewEvent> {
    let mut updates = employed(employment, &change.theirs, now);
    if let Some(old) = change
        .previous_main
        .as_ref()
        .filter(|old| old.unit != employment.unit)
    {
        updates.push(delete(
            unit_ref(old.unit),
            Relation::MainAccount,
            user_ref(old.user),
        ));
    }
    vec![event(updates, vec![])]
}

/// An employment ended: its facts carry the new end (among `theirs`, the user's employments,
/// at `now`).
pub fn employment_ended(
    ended: &EmploymentRecord,
    theirs: &[EmploymentRecord],
    now: i64,
) -> NewEvent {
    event(employed(ended, theirs, now), vec![])
}

/// `user` named to manage the `kind` object `target` (`named`), or no longer.
pub fn named_manager_changed(
    kind: ObjectType,
    target: Uuid,
    user: UserId,
    named: bool,
) -> NewEvent {
    let update = set(
        named,
        reference(kind, target),
        Relation::NamedManager,
        user_ref(user),
    );
    event(vec![update], vec![])
}

// Groups.

/// A user's new team: the old primary group lets go, the new one holds them as primary member
/// and member.
pub fn team(user: UserId, old: Option<GroupId>, new: GroupId) -> Vec<RelationshipUpdate> {
    let mut updates = Vec::new();
    if let Some(old) = old.filter(|old| *old != new) {
        updates.push(delete(
            group_ref(old),
            Relation::PrimaryMember,
            user_ref(user),
        ));
    }
    updates.push(touch(
        group_ref(new),
        Relation::PrimaryMember,
        user_ref(user),
    ));
    updates.push(touch(group_ref(new), Relation::Member, user_ref(user)));
    updates
}

/// A user's primary group changed from `old` to `new`.
pub fn primary_group_changed(user: UserId, old: Option<GroupId>, new: GroupId) -> Vec<NewEvent> {
    vec![event(team(user, old, new), vec![])]
}

/// Users joined the group.
pub fn members_added(group: GroupId, users: &[UserId]) -> NewEvent {
    let updates = users
        .iter()
        .map(|user| touch(group_ref(group), Relation::Member, user_ref(*user)))
        .collect();
    event(updates, vec![])
}

/// Users left the group; those in `lost_primary` had it as their primary group.
pub fn members_removed(group: GroupId, users: &[UserId], lost_primary: &[UserId]) -> Vec<NewEvent> {
    let members = users
        .iter()
        .map(|user| delete(group_ref(group), Relation::Member, user_ref(*user)));
    let primaries = lost_primary
        .iter()
        .map(|user| delete(group_ref(group), Relation::PrimaryMember, user_ref(*user)));
    vec![event(members.chain(primaries).collect(), vec![])]
}

/// The group's manager changed from `old` to `new`. The old manager's removal travels alone:
/// authorization refuses a new manager whose roles do not allow it (the responsibility
/// matrix), and that refusal must not keep the old manager in place.
pub fn group_manager_changed(
    group: GroupId,
    old: Option<UserId>,
    new: Option<UserId>,
) -> Vec<NewEvent> {
    let removed = old
        .filter(|old| Some(*old) != new)
        .map(|old| delete(group_ref(group), Relation::Manager, user_ref(old)));
    let added = new.map(|new| touch(group_ref(group), Relation::Manager, user_ref(new)));
    let mut both = events(removed.into_iter().collect(), vec![]);
    both.extend(events(added.into_iter().collect(), vec![]));
    both
}

/// `user` became a Group Administrator of the group (`administrator`), or stopped being one.
pub fn group_administrator_changed(group: GroupId, user: UserId, administrator: bool) -> NewEvent {
    let update = set(
        administrator,
        group_ref(group),
        Relation::Administrator,
        user_ref(user),
    );
    event(vec![update], vec![])
}

/// A deleted group: its administrators and manager hold nothing over it any more.
pub fn group_deleted(group: &GroupRecord) -> Vec<NewEvent> {
    let mut updates: Vec<RelationshipUpdate> = group
        .administrators
        .iter()
        .map(|admin| {
            delete(
                group_ref(group.id),
                Relation::Administrator,
                user_ref(*admin),
            )
        })
        .collect();
    if let Some(manager) = group.manager {
        updates.push(delete(
            group_ref(group.id),
            Relation::Manager,
            user_ref(manager),
        ));
    }
    events(updates, vec![])
}

// Facts as they hold, each one touched, re-sent from the stored rows (`lms reporting rebuild`):
// the same facts the builders above leave standing.

/// A unit exists in the tenant, under its parent (if any).
pub fn unit_holds(tenant: TenantId, unit: &UnitRecord) -> Vec<RelationshipUpdate> {
    let mut updates = vec![unit_exists(tenant, unit.id)];
    updates.extend(parent_changed(unit.id, None, unit.parent));
    updates
}

/// `user` is a member of `group` (not their team: [`team`] says that).
pub fn member_holds(group: GroupId, user: UserId) -> RelationshipUpdate {
    touch(group_ref(group), Relation::Member, user_ref(user))
}

/// `user` manages `group`.
pub fn manager_holds(group: GroupId, user: UserId) -> RelationshipUpdate {
    touch(group_ref(group), Relation::Manager, user_ref(user))
}

/// `user` is a Group Administrator of `group`.
pub fn administrator_holds(group: GroupId, user: UserId) -> RelationshipUpdate {
    touch(group_ref(group), Relation::Administrator, user_ref(user))
}

/// `user` is named to manage the `kind` object `target`.
pub fn named_manager_holds(kind: ObjectType, target: Uuid, user: UserId) -> RelationshipUpdate {
    touch(
        reference(kind, target),
        Relation::NamedManager,
        user_ref(user),
    )
}

/// `user` is the tenant's Access Coordinator.
pub fn access_coordinator_holds(tenant: TenantId, user: UserId) -> RelationshipUpdate {
    touch(
        tenant_ref(tenant),
        Relation::AccessCoordinator,
        user_ref(user),
    )
}

/// `client` is a client of `master` (among the master's facts).
pub fn client_holds(master: TenantId, client: TenantId) -> RelationshipUpdate {
    touch(tenant_ref(master), Relation::Client, tenant_ref(client))
}

// Roles identity gives through the outbox.

fn assign(user: UserId, template: Template, main_role: bool, source: AssignmentSource) -> NewEvent {
    outbox::assign_role(AssignRoleRequest {
        user_id: user.to_string(),
        role_id: RoleId::BuiltIn(template).to_string(),
        main_role,
        source: source as i32,
        ..Default::default()
    })
}

/// `user` is given the built-in role of `template`.
pub fn role_given(user: UserId, template: Template) -> NewEvent {
    assign(user, template, false, AssignmentSource::Unspecified)
}

/// `user` is given the built-in role of `template` tenant-wide, unless they hold it there
/// already: authorization then answers that assignment and adds none.
pub fn role_given_unless_held(user: UserId, template: Template) -> NewEvent {
    outbox::assign_role(AssignRoleRequest {
        user_id: user.to_string(),
        role_id: RoleId::BuiltIn(template).to_string(),
        unless_held: true,
        ..Default::default()
    })
}

/// `user` is given the built-in role of `template` as their main role.
pub fn main_role_given(user: UserId, template: Template) -> NewEvent {
    assign(user, template, true, AssignmentSource::Unspecified)
}

/// The people data feed gives `user` the built-in role of `template`.
pub fn feed_role_given(user: UserId, template: Template) -> NewEvent {
    assign(user, template, false, AssignmentSource::PeopleDataFeed)
}

/// `user` no longer holds the built-in role of `template`, however it was given.
pub fn role_taken(user: UserId, template: Template) -> NewEvent {
    outbox::revoke_role(
        user,
        RoleId::BuiltIn(template),
        AssignmentSource::Unspecified,
    )
}

/// The people-data feed takes back the built-in role of `template` it gave `user`; one an
/// administrator gave stays.
pub fn feed_role_taken(user: UserId, template: Template) -> NewEvent {
    outbox::revoke_role(
        user,
        RoleId::BuiltIn(template),
        AssignmentSource::PeopleDataFeed,
    )
}

#[cfg(test)]
mod tests {
    use lms_api::authorization::v1::{AssignRoleRequest, RevokeRoleRequest};
    use prost::Message;

    use super::*;

    /// The facts of an event, each as (operation, resource id, relation, subject id).
    fn facts(event: &NewEvent) -> Vec<(Operation, String, Relation, String)> {
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap();
        request
            .updates
            .iter()
            .map(|update| {
                let relationship = update.relationship.as_ref().unwrap();
                (
                    Operation::try_from(update.operation).unwrap(),
                    relationship.resource.as_ref().unwrap().id.clone(),
                    Relation::try_from(relationship.relation).unwrap(),
                    relationship.subject.as_ref().unwrap().id.clone(),
                )
            })
            .collect()
    }

    fn employment(unit: UnitId, user: UserId, main_account: bool) -> EmploymentRecord {
        EmploymentRecord {
            id: Uuid::now_v7(),
            user,
            unit,
            starts_at: 100,
            ends_at: Some(200),
            main_account,
        }
    }

    #[test]
    fn a_move_by_import_ends_the_old_employment_at_the_move_and_its_main_account() {
        let (unit, user) = (UnitId::generate(), UserId::generate());
        let old = EmploymentRecord {
            ends_at: None,
            ..employment(unit, user, true)
        };
        let event = event(moved_away(&old, &[], 150), vec![]);
        assert_eq!(
            facts(&event),
            [
                (
                    Operation::Touch,
                    unit.to_string(),
                    Relation::Employee,
                    user.to_string()
                ),
                (
                    Operation::Delete,
                    unit.to_string(),
                    Relation::MainAccount,
                    user.to_string()
                ),
            ]
        );
        // As the store keeps it (and a rebuild re-sends it): employed there until the move.
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap();
        let window = request.updates[0].relationship.as_ref().unwrap();
        assert_eq!(window.valid_from.map(|t| t.seconds), Some(100));
        assert_eq!(window.valid_until.map(|t| t.seconds), Some(150));
    }

    /// The employee fact's window of an event's first update.
    fn employee_window(event: &NewEvent) -> (Option<i64>, Option<i64>) {
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap();
        let fact = request.updates[0].relationship.as_ref().unwrap();
        assert_eq!(fact.relation, Relation::Employee as i32);
        (
            fact.valid_from.map(|t| t.seconds),
            fact.valid_until.map(|t| t.seconds),
        )
    }

    #[test]
    fn a_person_counts_as_employed_at_a_unit_over_all_their_employments_there() {
        let (unit, elsewhere, user) = (UnitId::generate(), UnitId::generate(), UserId::generate());
        let past = employment(unit, user, false);
        let rehired = EmploymentRecord {
            starts_at: 300,
            ends_at: None,
            ..employment(unit, user, true)
        };
        let other_unit = EmploymentRecord {
            starts_at: 50,
            ..employment(elsewhere, user, false)
        };
        let theirs = [past.clone(), rehired.clone(), other_unit];
        let ended = EmploymentRecord {
            ends_at: Some(150),
            ..past.clone()
        };
        // Ending the past one again keeps the rehire in force; other units never count.
        assert_eq!(
            employee_window(&employment_ended(&ended, &theirs, 350)),
            (Some(300), None)
        );
        // In the break, the rehire is the next to begin: not employed until it does.
        assert_eq!(
            employee_window(&employment_ended(&ended, &theirs, 250)),
            (Some(300), None)
        );
        // Before the break, the one in force: the break never counts as employed.
        assert_eq!(
            employee_window(&employment_ended(&ended, &theirs, 120)),
            (Some(100), Some(150))
        );
        // Overlapping or touching employments count as one.
        let touching = EmploymentRecord {
            ends_at: Some(300),
            ..past
        };
        assert_eq!(
            employee_window(&employment_ended(&touching, &theirs, 120)),
            (Some(100), None)
        );
        assert_eq!(
            employee_window(&employment_ended(&ended, &[], 350)),
            (Some(100), Some(150))
        );
    }

    #[test]
    fn an_ended_employment_keeps_the_unit_over_the_user_for_its_dates() {
        let (unit, user) = (UnitId::generate(), UserId::generate());
        let event = employment_ended(&employment(unit, user, true), &[], 150);
        assert_eq!(
            facts(&event),
            [
                (
                    Operation::Touch,
                    unit.to_string(),
                    Relation::Employee,
                    user.to_string()
                ),
                (
                    Operation::Touch,
                    unit.to_string(),
                    Relation::MainAccount,
                    user.to_string()
                ),
            ]
        );
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap();
        let window = request.updates[0].relationship.as_ref().unwrap();
        assert_eq!(window.valid_from.map(|t| t.seconds), Some(100));
        assert_eq!(window.valid_until.map(|t| t.seconds), Some(200));
    }

    #[test]
    fn a_new_main_account_takes_main_from_the_previous_one() {
        let user = UserId::generate();
        let (old_unit, new_unit) = (UnitId::generate(), UnitId::generate());
        let change = EmploymentChange {
            before: employment(new_unit, user, false),
            previous_main: Some(employment(old_unit, user, true)),
            theirs: Vec::new(),
        };
        let events = main_account_set(&change, &employment(new_unit, user, true), 150);
        assert_eq!(events.len(), 1);
        assert_eq!(
            facts(&events[0])[2],
            (
                Operation::Delete,
                old_unit.to_string(),
                Relation::MainAccount,
                user.to_string()
            )
        );
    }

    #[test]
    fn a_moved_unit_leaves_its_old_parent_for_the_new_one() {
        let (unit, old, new) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
        let events = unit_moved(unit, Some(old), Some(new));
        assert_eq!(
            facts(&events[0]),
            [
                (
                    Operation::Delete,
                    unit.to_string(),
                    Relation::ParentUnit,
                    old.to_string()
                ),
                (
                    Operation::Touch,
                    unit.to_string(),
                    Relation::ParentUnit,
                    new.to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_replaced_group_manager_is_removed_in_an_event_of_its_own() {
        let (group, old, new) = (GroupId::generate(), UserId::generate(), UserId::generate());
        let events = group_manager_changed(group, Some(old), Some(new));
        assert_eq!(events.len(), 2);
        assert_eq!(
            facts(&events[0]),
            [(
                Operation::Delete,
                group.to_string(),
                Relation::Manager,
                old.to_string()
            )]
        );
        assert_eq!(
            facts(&events[1]),
            [(
                Operation::Touch,
                group.to_string(),
                Relation::Manager,
                new.to_string()
            )]
        );
        assert!(group_manager_changed(group, Some(old), Some(old)).len() == 1);
        assert!(group_manager_changed(group, None, None).is_empty());
    }

    #[test]
    fn a_new_team_holds_the_user_as_primary_member_and_member() {
        let (user, old, new) = (UserId::generate(), GroupId::generate(), GroupId::generate());
        let events = primary_group_changed(user, Some(old), new);
        assert_eq!(
            facts(&events[0]),
            [
                (
                    Operation::Delete,
                    old.to_string(),
                    Relation::PrimaryMember,
                    user.to_string()
                ),
                (
                    Operation::Touch,
                    new.to_string(),
                    Relation::PrimaryMember,
                    user.to_string()
                ),
                (
                    Operation::Touch,
                    new.to_string(),
                    Relation::Member,
                    user.to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_deleted_user_loses_every_employment_and_reads_as_anonymised() {
        let (unit, user) = (UnitId::generate(), UserId::generate());
        let record = UserRecord {
            id: user,
            email: None,
            given_name: String::new(),
            family_name: String::new(),
            status: UserStatus::PendingApproval,
            account_kind: lms_kernel::AccountKind::Tutor,
            restrict_bookings: false,
            primary_group: None,
            custom_fields: "{}".into(),
            external_id: None,
            password_hash: None,
            last_sign_in_at: None,
            created_by: String::new(),
            created_at: 0,
        };
        let events = user_deleted(&record, &[employment(unit, user, true)]);
        let event = &events[0];
        assert_eq!(
            facts(event),
            [
                (
                    Operation::Delete,
                    unit.to_string(),
                    Relation::Employee,
                    user.to_string()
                ),
                (
                    Operation::Delete,
                    unit.to_string(),
                    Relation::MainAccount,
                    user.to_string()
                ),
            ]
        );
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap();
        assert_eq!(
            request.statuses[0].status,
            i32::from(UserStatus::Anonymised.code())
        );
        // Every role they held goes too.
        assert_eq!(events[1].topic, outbox::topic::REVOKE_ROLE);
        let revoke = RevokeRoleRequest::decode(events[1].payload.as_slice()).unwrap();
        assert_eq!(
            (revoke.user_id, revoke.role_id),
            (user.to_string(), String::new())
        );
    }

    #[test]
    fn a_feed_role_names_the_feed_as_its_source() {
        let user = UserId::generate();
        let event = feed_role_given(user, Template::Manager);
        let request = AssignRoleRequest::decode(event.payload.as_slice()).unwrap();
        assert_eq!(request.source, AssignmentSource::PeopleDataFeed as i32);
        assert_eq!(
            request.role_id,
            RoleId::BuiltIn(Template::Manager).to_string()
        );
        assert!(!request.main_role);
    }

    #[test]
    fn the_feed_takes_back_only_the_manager_role_it_gave() {
        let user = UserId::generate();
        let event = feed_role_taken(user, Template::Manager);
        assert_eq!(event.topic, outbox::topic::REVOKE_ROLE);
        let request = RevokeRoleRequest::decode(event.payload.as_slice()).unwrap();
        assert_eq!(request.source, AssignmentSource::PeopleDataFeed as i32);
        assert_eq!(
            request.role_id,
            RoleId::BuiltIn(Template::Manager).to_string()
        );
    }
}
