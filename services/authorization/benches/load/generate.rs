//! The generated tenant, written through the store ports so that one generator fills
//! PostgreSQL and SQLite alike.

use std::time::Instant;

use lms_api::authorization::v1::Relation as R;
use lms_api::common::v1::ObjectType;
use lms_authorization::store::{
    AssignmentRecord, AuditEntry, Change, FactBatch, FactStore, Relationship, RoleStore, Stamp,
    SubjectStatus,
};
use lms_kernel::{
    AssignmentId, CourseId, GroupId, RoleId, Template, TenantId, UnitId, UserId, UserStatus,
};

/// Units people are employed in: user `n` works in unit `n % UNITS`.
pub const UNITS: usize = 100;
/// Courses: user `n` is enrolled on course `n % COURSES`.
pub const COURSES: usize = 1000;
/// People per team, apart from the manager's big team.
const TEAM_SIZE: usize = 50;
/// The people (by index) of the manager's team, team 0.
const BIG_TEAM: std::ops::Range<usize> = 2..1002;
/// Courses the tutor `Tenant::tutor` tutors (the first ten) or administers (the next ten).
/// Other tutors administer courses after these, so the lookup case's tutor keeps exactly these.
const TUTOR_COURSES: usize = 20;
/// Courses each other tutor administers (so most courses have two administrators).
const COURSES_PER_TUTOR: usize = 4;
/// Relationships per write: one transaction each, well inside SQLite's parameter limit.
const CHUNK: usize = 1000;

/// The generated tenant: who is who, so that the benchmark can ask questions about it.
pub struct Tenant {
    /// The tenant.
    pub id: TenantId,
    /// Everyone; indexes into this are what the other fields hold.
    pub users: Vec<UserId>,
    /// The manager of team 0 (1,000 people): the warm and lookup cases' subject.
    pub manager: UserId,
    /// The tutor of the first twenty courses: the tutor lookup case's subject.
    pub tutor: UserId,
    /// Every course.
    pub courses: Vec<CourseId>,
    /// The people of each team; team 0 is the manager's.
    pub teams: Vec<Vec<usize>>,
    /// Who holds Manager, with the team they manage.
    pub managers: Vec<(usize, usize)>,
    /// Who holds Tutor, with the courses they tutor or administer.
    pub tutors: Vec<(usize, Vec<usize>)>,
    /// Who holds Local Administrator, with the unit they hold it at.
    pub local_administrators: Vec<(usize, usize)>,
}

fn rel(
    resource_type: ObjectType,
    resource: uuid::Uuid,
    relation: R,
    subject_type: ObjectType,
    subject: uuid::Uuid,
) -> Change {
    Change::Touch(Relationship {
        resource_type: resource_type as i16,
        resource_id: resource,
        relation: relation as i16,
        subject_type: subject_type as i16,
        subject_id: subject,
        valid_from: None,
        valid_until: None,
    })
}

fn held(user: UserId, relation: R, resource_type: ObjectType, resource: uuid::Uuid) -> Change {
    rel(
        resource_type,
        resource,
        relation,
        ObjectType::User,
        user.as_uuid(),
    )
}

async fn assign<S: RoleStore>(
    store: &S,
    tenant: TenantId,
    user: UserId,
    template: Template,
    unit: Option<UnitId>,
) {
    let record = AssignmentRecord {
        id: AssignmentId::generate(),
        user,
        role: RoleId::BuiltIn(template),
        unit,
        valid_from: None,
        valid_until: None,
        source: 1,
        main_role: true,
        assigned: Stamp {
            actor: "bench".into(),
            at: 0,
        },
    };
    let audit = AuditEntry {
        stamp: record.assigned.clone(),
        action: "role_assignment.created",
        object_type: 5,
        object_id: record.id.to_string(),
        before: None,
        after: None,
    };
    store
        .insert_assignment(tenant, &record, audit)
        .await
        .unwrap();
}

async fn apply<S: FactStore>(
    store: &S,
    tenant: TenantId,
    changes: Vec<Change>,
    settings: Option<lms_kernel::TenantSettings>,
    statuses: Vec<SubjectStatus>,
) {
    let batch = FactBatch {
        event_id: uuid::Uuid::new_v4(),
        changes,
        settings,
        statuses,
    };
    store.apply_facts(tenant, &batch).await.unwrap();
}

/// Users in 100 units and teams of 50, one team of 1,000 under the manager; 1,000 courses, 20
/// tutored or administered by the tutor; one enrolment per user. 1 % hold a role: half Manager
/// (each managing a team), half Tutor (each administering four courses); one in 1,000 is a
/// Local Administrator, of the units in turn.
pub async fn generate<S: FactStore + RoleStore>(store: &S, users: usize) -> Tenant {
    let id = TenantId::generate();
    let units: Vec<UnitId> = (0..UNITS).map(|_| UnitId::generate()).collect();
    let courses: Vec<CourseId> = (0..COURSES).map(|_| CourseId::generate()).collect();
    let all: Vec<UserId> = (0..users).map(|_| UserId::generate()).collect();
    let (manager, tutor) = (all[0], all[1]);
    let started = Instant::now();

    let mut teams: Vec<Vec<usize>> = vec![Vec::new()];
    let team_of: Vec<usize> = (0..users)
        .map(|n| {
            if !BIG_TEAM.contains(&n) && (n % TEAM_SIZE == 0 || teams.len() == 1) {
                teams.push(Vec::new());
            }
            let team = if BIG_TEAM.contains(&n) {
                0
            } else {
                teams.len() - 1
            };
            teams[team].push(n);
            team
        })
        .collect();
    let team_ids: Vec<GroupId> = teams.iter().map(|_| GroupId::generate()).collect();

    let settings = lms_kernel::TenantSettings {
        locations_enabled: true,
        clients_enabled: false,
        mfa_required_for_admins: false,
    };
    let mut relationships = 0;
    for (chunk_index, chunk) in all.chunks(CHUNK).enumerate() {
        let mut changes = Vec::with_capacity(chunk.len() * 3);
        for (i, user) in chunk.iter().enumerate() {
            let n = chunk_index * CHUNK + i;
            let team = team_ids[team_of[n]].as_uuid();
            changes.push(held(*user, R::PrimaryMember, ObjectType::Group, team));
            let unit = units[n % UNITS].as_uuid();
            changes.push(held(*user, R::Employee, ObjectType::Unit, unit));
            let course = courses[n % COURSES].as_uuid();
            changes.push(held(*user, R::Enrolled, ObjectType::Course, course));
        }
        relationships += changes.len();
        let statuses = chunk
            .iter()
            .map(|u| SubjectStatus {
                user: *u,
                status: UserStatus::Active,
                restrict_bookings: false,
            })
            .collect();
        let settings = (chunk_index == 0).then_some(settings);
        apply(store, id, changes, settings, statuses).await;
    }

    let mut managers = vec![(0, 0)];
    let mut tutors = vec![(1, (0..TUTOR_COURSES).collect::<Vec<_>>())];
    assign(store, id, manager, Template::Manager, None).await;
    assign(store, id, tutor, Template::Tutor, None).await;
    for (i, user) in all
        .iter()
        .enumerate()
        .skip(2)
        .step_by(100)
        .take(users / 100)
    {
        let template = if i % 200 == 2 {
            // Team 0 is the manager's; the others get one manager each, round robin.
            if teams.len() > 1 {
                managers.push((i, 1 + (managers.len() - 1) % (teams.len() - 1)));
            }
            Template::Manager
        } else {
            let first = COURSES_PER_TUTOR * (tutors.len() - 1);
            let spare = COURSES - TUTOR_COURSES;
            let administered = (first..first + COURSES_PER_TUTOR)
                .map(|c| TUTOR_COURSES + c % spare)
                .collect();
            tutors.push((i, administered));
            Template::Tutor
        };
        assign(store, id, *user, template, None).await;
    }
    let mut local_administrators = Vec::new();
    for (i, user) in all.iter().enumerate().skip(3).step_by(1000) {
        let unit = local_administrators.len() % UNITS;
        local_administrators.push((i, unit));
        assign(
            store,
            id,
            *user,
            Template::LocalAdministrator,
            Some(units[unit]),
        )
        .await;
    }

    // The responsibilities the roles work through: a managed team, tutored and administered
    // courses (one Course Tutor per course, as the store requires).
    let mut duties = Vec::new();
    for &(m, team) in &managers {
        duties.push(held(
            all[m],
            R::Manager,
            ObjectType::Group,
            team_ids[team].as_uuid(),
        ));
    }
    for (t, administered) in &tutors {
        for &c in administered {
            let relation = if *t == 1 && c < TUTOR_COURSES / 2 {
                R::CourseTutor
            } else {
                R::CourseAdministrator
            };
            duties.push(held(
                all[*t],
                relation,
                ObjectType::Course,
                courses[c].as_uuid(),
            ));
        }
    }
    relationships += duties.len();
    for chunk in duties.chunks(CHUNK) {
        apply(store, id, chunk.to_vec(), None, Vec::new()).await;
    }

    println!(
        "generated {users} users, {relationships} relationships, {} managers, {} tutors, {} local administrators in {:.1?}",
        managers.len(),
        tutors.len(),
        local_administrators.len(),
        started.elapsed()
    );
    Tenant {
        id,
        users: all,
        manager,
        tutor,
        courses,
        teams,
        managers,
        tutors,
        local_administrators,
    }
}
