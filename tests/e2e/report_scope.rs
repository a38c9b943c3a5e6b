//! The property that holds reports honest, over generated tenants: for every caller, the rows of
//! their learner progress report are exactly the enrolments (not started, in progress,
//! completed) whose learner authorization's Check lets them read reports on (`reports.read` on
//! the person), or whose course it lets them report on through anything but their own learning.
//! No row more, no row less.
//!
//! The same holds for attendance: the bookings in a report are exactly those whose learner, or
//! whose event's course, or whose event Check lets the caller report on.
//!
//! Each case is a tenant of random units (a forest, locations on or off), employments (some
//! ended), groups with managers and administrators, primary groups and memberships, purchasers'
//! invitees, courses with owning units, tutors, course administrators and enrolments in every
//! state, and one role (or none) per person, at a unit where the role is placed; one person may
//! be suspended. The facts go to authorization as identity and delegation send them, roles
//! through AssignRole, and the same events reach reporting's projections. Every person then asks
//! reporting (real gRPC) for their report and authorization (real gRPC, BatchCheck) about every
//! learner. "Anything but their own learning" is asked about every course before anyone is
//! enrolled (enrolments change nothing else a decision on a course reads), since a learner's
//! own enrolment reaches their own rows only.

use std::collections::BTreeSet;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, BatchCheckItem, BatchCheckRequest, Decision, Operation, Relation,
    Relationship, RelationshipUpdate, SubjectStatus, TenantFacts, WriteRelationshipsRequest,
};
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType, UserStatus, consistency};
use lms_api::delegation::v1::{Booking, Enrolment, EnrolmentState, Event};
use lms_api::reporting::v1::report_service_client::ReportServiceClient;
use lms_api::reporting::v1::{
    BookingRecords, EnrolmentRecords, EventRecord, ListAttendanceRequest,
};
use lms_api::reporting::v1::{ListLearnerProgressRequest, PersonRecord, PersonRecords};
use lms_kernel::{Responsibility, Template, TenantId, UserId};
use lms_reporting::projection::Projection;
use lms_runtime::outbox::{OutboxEvent, PublishedEvent, topic};
use lms_runtime::{Database, ServiceName};
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use uuid::Uuid;

const UNITS: usize = 4;
const PEOPLE: usize = 8;
const GROUPS: usize = 2;
const COURSES: usize = 3;
const EVENTS: usize = 3;
const CASES: u32 = 24;

/// The roles people are given, and whether each is held at a unit.
const ROLES: [(&str, bool); 12] = [
    ("builtin:manager", false),
    ("builtin:tutor", false),
    ("builtin:manager_tutor", false),
    ("builtin:purchaser", false),
    ("builtin:local_administrator", true),
    ("builtin:local_administrator_reports_only", true),
    ("builtin:multiple_location_administrator", true),
    ("builtin:multiple_location_administrator_reports_only", true),
    ("builtin:organization_administrator_reports_only", false),
    ("builtin:lms_administrator", false),
    ("builtin:training_coordinator", false),
    ("builtin:teacher_administrator", false),
];

/// When a relationship holds: always, no longer (ended an hour ago), or not yet (from an
/// hour on).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Window {
    Open,
    Ended,
    NotYet,
}

impl Window {
    fn at(self, now: i64) -> (Option<i64>, Option<i64>) {
        match self {
            Window::Open => (None, None),
            Window::Ended => (Some(now - 7200), Some(now - 3600)),
            Window::NotYet => (Some(now + 3600), None),
        }
    }
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        7 => Just(Window::Open),
        2 => Just(Window::Ended),
        1 => Just(Window::NotYet),
    ]
}

/// Indices of [`ROLES`] the generator gives to the people who need them.
const MANAGER: usize = 0;
const TUTOR: usize = 1;
const PURCHASER: usize = 3;

/// A tenant's structure, as indices.
#[derive(Clone, Debug)]
struct Shape {
    locations: bool,
    /// Unit i's parent, an earlier unit.
    parents: Vec<Option<usize>>,
    /// Per person: units employing them.
    employments: Vec<Vec<(usize, Window)>>,
    primary: Vec<Option<(usize, Window)>>,
    memberships: Vec<Vec<(usize, Window)>>,
    /// Per group.
    managers: Vec<Vec<(usize, Window)>>,
    administrators: Vec<Vec<(usize, Window)>>,
    /// (purchaser, invitee).
    invitations: Vec<(usize, usize, Window)>,
    /// Per course.
    owners: Vec<Option<usize>>,
    tutors: Vec<Option<(usize, Window)>>,
    course_administrators: Vec<Vec<(usize, Window)>>,
    /// (learner, course, delegation's enrolment state).
    enrolments: Vec<(usize, usize, i32)>,
    /// Per event: its course.
    events: Vec<usize>,
    /// Per event: its Event Administrators.
    event_administrators: Vec<Vec<(usize, Window)>>,
    /// (learner, event, delegation's booking status).
    bookings: Vec<(usize, usize, i32)>,
    /// Per person: a role of [`ROLES`] and the unit it would be held at.
    roles: Vec<Option<(usize, usize)>>,
    suspended: Option<usize>,
}

/// Up to `most` (index, window) pairs below `n`.
fn related(n: usize, most: usize) -> impl Strategy<Value = Vec<(usize, Window)>> {
    proptest::collection::vec((0..n, window()), 0..=most)
}

fn shape() -> impl Strategy<Value = Shape> {
    let parents = (0..UNITS)
        .map(|i| match i {
            0 => Just(None).boxed(),
            _ => proptest::option::of(0..i).boxed(),
        })
        .collect::<Vec<_>>();
    let people = (
        proptest::collection::vec(related(UNITS, 2), PEOPLE),
        proptest::collection::vec(proptest::option::of((0..GROUPS, window())), PEOPLE),
        proptest::collection::vec(related(GROUPS, 1), PEOPLE),
        proptest::collection::vec(
            proptest::option::weighted(0.7, (0..ROLES.len(), 0..UNITS)),
            PEOPLE,
        ),
        proptest::option::weighted(0.3, 0..PEOPLE),
        // Whether a person given a duty gets a role that allows it.
        proptest::collection::vec(any::<bool>(), PEOPLE),
    );
    let groups = (
        proptest::collection::vec(related(PEOPLE, 1), GROUPS),
        proptest::collection::vec(related(PEOPLE, 1), GROUPS),
        proptest::collection::vec((0..PEOPLE, 0..PEOPLE, window()), 0..=3),
    );
    let courses = (
        proptest::collection::vec(proptest::option::of(0..UNITS), COURSES),
        proptest::collection::vec(proptest::option::of((0..PEOPLE, window())), COURSES),
        proptest::collection::vec(related(PEOPLE, 1), COURSES),
        proptest::collection::vec((0..PEOPLE, 0..COURSES, 1..=4), 0..=14),
    );
    let events = (
        proptest::collection::vec(0..COURSES, 0..=EVENTS),
        proptest::collection::vec(related(PEOPLE, 1), EVENTS),
        proptest::collection::vec((0..PEOPLE, 0..EVENTS, 1..=8), 0..=12),
    );
    (any::<bool>(), parents, people, groups, courses, events).prop_map(
        |(locations, parents, people, groups, courses, events)| {
            let (events, mut event_administrators, mut bookings) = events;
            event_administrators.truncate(events.len());
            // One booking per learner and event, on events that exist.
            let mut booked = BTreeSet::new();
            bookings.retain(|(learner, event, _)| {
                *event < events.len() && booked.insert((*learner, *event))
            });
            let (employments, primary, memberships, mut roles, suspended, upgrade) = people;
            let (managers, administrators, invitations) = groups;
            let (owners, tutors, course_administrators, mut enrolments) = courses;
            // One enrolment per learner and course, as delegation keeps them.
            let mut seen = BTreeSet::new();
            enrolments.retain(|(learner, course, _)| seen.insert((*learner, *course)));
            // Only Purchasers invite; duties mostly go to people whose role allows them.
            for (purchaser, _, _) in &invitations {
                roles[*purchaser] = Some((PURCHASER, 0));
            }
            let mut give = |person: usize, role: usize| {
                if upgrade[person] {
                    roles[person] = Some((role, 0));
                }
            };
            for (manager, _) in managers.iter().chain(&administrators).flatten() {
                give(*manager, MANAGER);
            }
            for (tutor, _) in tutors
                .iter()
                .flatten()
                .chain(course_administrators.iter().flatten())
                .chain(event_administrators.iter().flatten())
            {
                give(*tutor, TUTOR);
            }
            Shape {
                locations,
                parents,
                employments,
                primary,
                memberships,
                managers,
                administrators,
                invitations,
                owners,
                tutors,
                course_administrators,
                enrolments,
                events,
                event_administrators,
                bookings,
                roles,
                suspended,
            }
        },
    )
}

fn reference(kind: ObjectType, id: impl ToString) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

fn touch(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    window: (Option<i64>, Option<i64>),
) -> RelationshipUpdate {
    let at =
        |seconds: Option<i64>| seconds.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 });
    RelationshipUpdate {
        operation: Operation::Touch as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            valid_from: at(window.0),
            valid_until: at(window.1),
        }),
    }
}

/// The services a case runs against.
struct Services {
    auth: TestAuth,
    authorization: TestService,
    reporting: TestService,
    projection: Projection,
    _databases: [lms_testkit::TestDatabase; 2],
    _redis: lms_testkit::TestRedis,
}

impl Services {
    async fn start() -> Self {
        lms_testkit::trace_init();
        let auth = TestAuth::new();
        let redis = redis().await;
        let databases = [postgres_database().await, postgres_database().await];
        let context = service_context(
            ServiceName::Authorization,
            databases[0].url(),
            Some(&redis),
            &auth,
        );
        let authorization =
            TestService::start(lms_platform::build_service(context).await.unwrap()).await;
        let mut context = service_context(ServiceName::Reporting, databases[1].url(), None, &auth);
        context.set_endpoint(
            ServiceName::Authorization,
            format!("http://{}", authorization.addr()),
        );
        let reporting =
            TestService::start(lms_platform::build_service(context).await.unwrap()).await;
        let database = Database::connect(&lms_runtime::SecretString::new(databases[1].url()), 2)
            .await
            .unwrap();
        Services {
            auth,
            authorization,
            reporting,
            projection: Projection::new(database),
            _databases: databases,
            _redis: redis,
        }
    }

    /// Sends `batch` to authorization as `service` of `tenant` would, and the same event to
    /// reporting.
    async fn facts(
        &self,
        tenant: TenantId,
        service: ServiceName,
        sequence: i64,
        mut batch: WriteRelationshipsRequest,
    ) {
        let event_id = Uuid::now_v7();
        batch.event_id = event_id.to_string();
        RelationshipServiceClient::new(
            self.authorization
                .authorized(&self.auth.tenant_service_token(service.as_str(), tenant)),
        )
        .write_relationships(batch.clone())
        .await
        .unwrap();
        self.publish(
            tenant,
            service,
            sequence,
            topic::FACTS,
            batch.encode_to_vec(),
        )
        .await;
    }

    async fn publish(
        &self,
        tenant: TenantId,
        service: ServiceName,
        sequence: i64,
        topic: &str,
        payload: Vec<u8>,
    ) {
        let event = PublishedEvent {
            service,
            event: OutboxEvent {
                sequence,
                event_id: Uuid::now_v7(),
                tenant,
                topic: topic.to_owned(),
                payload,
            },
        };
        assert!(self.projection.apply(&event, "bus").await.unwrap());
    }
}

/// A generated tenant, told to authorization and reporting.
struct World {
    tenant: TenantId,
    people: Vec<UserId>,
    /// Per person, per course: may they report on it through anything but their own learning
    /// (asked before anyone was enrolled)?
    on_course: Vec<Vec<bool>>,
    /// The same for events (their Event Administrators, their course's reporters).
    on_event: Vec<Vec<bool>>,
    events: Vec<Uuid>,
    courses: Vec<Uuid>,
}

async fn tell(services: &Services, shape: &Shape) -> World {
    let tenant = TenantId::generate();
    let now = lms_runtime::clock::now();
    let many = |n: usize| (0..n).map(|_| Uuid::now_v7()).collect::<Vec<_>>();
    let (units, groups, courses) = (many(UNITS), many(GROUPS), many(COURSES));
    let people: Vec<UserId> = (0..PEOPLE).map(|_| UserId::generate()).collect();
    let user = |id: UserId| reference(ObjectType::User, id);
    let unit = |i: usize| reference(ObjectType::Unit, units[i]);
    let group = |i: usize| reference(ObjectType::Group, groups[i]);
    let course = |i: usize| reference(ObjectType::Course, courses[i]);
    let open = (None, None);

    // Identity's side: settings, units and people first, then roles (where a placed role is
    // held), then employments, groups and invitations (a duty only where the holder's role
    // allows it, as identity and delegation keep them).
    let mut updates = Vec::new();
    for (i, parent) in shape.parents.iter().enumerate() {
        updates.push(touch(
            unit(i),
            Relation::UnitOfTenant,
            reference(ObjectType::Tenant, tenant),
            open,
        ));
        if let Some(parent) = parent {
            updates.push(touch(unit(i), Relation::ParentUnit, unit(*parent), open));
        }
    }
    let status = |i: usize, id: UserId| SubjectStatus {
        user_id: id.to_string(),
        status: match shape.suspended == Some(i) {
            true => UserStatus::Suspended as i32,
            false => UserStatus::Active as i32,
        },
        restrict_bookings: false,
    };
    let statuses = people
        .iter()
        .enumerate()
        .map(|(i, id)| status(i, *id))
        .collect();
    let founding = WriteRelationshipsRequest {
        updates: std::mem::take(&mut updates),
        tenant_facts: Some(TenantFacts {
            locations_enabled: shape.locations,
            clients_enabled: false,
            mfa_required_for_admins: false,
        }),
        statuses,
        ..Default::default()
    };
    services
        .facts(tenant, ServiceName::Identity, 1, founding)
        .await;
    let held = held_roles(shape);
    assign(services, tenant, &held, &people, &units).await;
    let may = |person: usize, duty: Responsibility| {
        held[person].is_some_and(|(role, _)| {
            Template::parse(ROLES[role].0.trim_start_matches("builtin:"))
                .is_some_and(|template| template.responsibilities().contains(duty))
        })
    };

    for (person, id) in people.iter().enumerate() {
        let at = |(i, window): &(usize, Window)| (*i, window.at(now));
        let related = shape.employments[person]
            .iter()
            .map(|e| (unit(at(e).0), Relation::Employee, at(e).1))
            .chain(
                shape.primary[person]
                    .iter()
                    .map(|g| (group(at(g).0), Relation::PrimaryMember, at(g).1)),
            )
            .chain(
                shape.memberships[person]
                    .iter()
                    .map(|g| (group(at(g).0), Relation::Member, at(g).1)),
            );
        for (resource, relation, window) in related {
            updates.push(touch(resource, relation, user(*id), window));
        }
    }
    for g in 0..GROUPS {
        let overseers = shape.managers[g]
            .iter()
            .map(|holder| (holder, Relation::Manager, Responsibility::GroupManager))
            .chain(shape.administrators[g].iter().map(|holder| {
                (
                    holder,
                    Relation::Administrator,
                    Responsibility::GroupAdministrator,
                )
            }));
        for ((person, window), relation, duty) in overseers {
            if may(*person, duty) {
                updates.push(touch(
                    group(g),
                    relation,
                    user(people[*person]),
                    window.at(now),
                ));
            }
        }
    }
    for (purchaser, invitee, window) in &shape.invitations {
        updates.push(touch(
            user(people[*purchaser]),
            Relation::Invitee,
            user(people[*invitee]),
            window.at(now),
        ));
    }
    let identity_facts = WriteRelationshipsRequest {
        updates,
        ..Default::default()
    };
    services
        .facts(tenant, ServiceName::Identity, 2, identity_facts)
        .await;
    let records = PersonRecords {
        people: people
            .iter()
            .enumerate()
            .map(|(i, id)| PersonRecord {
                user_id: id.to_string(),
                given_name: format!("Person {i}"),
                family_name: format!("Family {}", i % 3),
                email: format!("p{i}@scope.example"),
                status: status(i, *id).status,
                primary_group_id: shape.primary[i]
                    .map(|(g, _)| groups[g].to_string())
                    .unwrap_or_default(),
                external_id: String::new(),
                removed: false,
            })
            .collect(),
    };
    services
        .publish(
            tenant,
            ServiceName::Identity,
            3,
            topic::PEOPLE,
            records.encode_to_vec(),
        )
        .await;

    // Delegation's side: owning units and duties, then enrolments.
    let mut updates = Vec::new();
    for c in 0..COURSES {
        if let Some(owner) = shape.owners[c] {
            updates.push(touch(course(c), Relation::OwningUnit, unit(owner), open));
        }
        let duties = shape.tutors[c]
            .iter()
            .map(|holder| (holder, Relation::CourseTutor, Responsibility::CourseTutor))
            .chain(shape.course_administrators[c].iter().map(|holder| {
                (
                    holder,
                    Relation::CourseAdministrator,
                    Responsibility::CourseAdministrator,
                )
            }));
        for ((person, window), relation, duty) in duties {
            if may(*person, duty) {
                updates.push(touch(
                    course(c),
                    relation,
                    user(people[*person]),
                    window.at(now),
                ));
            }
        }
    }
    let events: Vec<Uuid> = shape.events.iter().map(|_| Uuid::now_v7()).collect();
    let event = |i: usize| reference(ObjectType::Event, events[i]);
    for (e, c) in shape.events.iter().enumerate() {
        updates.push(touch(event(e), Relation::ParentCourse, course(*c), open));
        for (person, window) in &shape.event_administrators[e] {
            if may(*person, Responsibility::EventAdministrator) {
                updates.push(touch(
                    event(e),
                    Relation::EventAdministrator,
                    user(people[*person]),
                    window.at(now),
                ));
            }
        }
    }
    let duties = WriteRelationshipsRequest {
        updates: std::mem::take(&mut updates),
        ..Default::default()
    };
    services
        .facts(tenant, ServiceName::Delegation, 1, duties)
        .await;
    let course_refs: Vec<_> = courses
        .iter()
        .map(|id| reference(ObjectType::Course, id))
        .collect();
    let event_refs: Vec<_> = events
        .iter()
        .map(|id| reference(ObjectType::Event, id))
        .collect();
    let (mut on_course, mut on_event) = (Vec::new(), Vec::new());
    for person in &people {
        on_course.push(allowed(services, tenant, *person, &course_refs).await);
        on_event.push(allowed(services, tenant, *person, &event_refs).await);
    }
    let mut enrolments = Vec::new();
    for (learner, c, state) in &shape.enrolments {
        if *state != EnrolmentState::Withdrawn as i32 {
            updates.push(touch(
                course(*c),
                Relation::Enrolled,
                user(people[*learner]),
                open,
            ));
        }
        enrolments.push(Enrolment {
            course_id: courses[*c].to_string(),
            user_id: people[*learner].to_string(),
            enrolment_id: Uuid::now_v7().to_string(),
            state: *state,
            enrolled_at: Some(prost_types::Timestamp {
                seconds: now,
                nanos: 0,
            }),
            ..Default::default()
        });
    }
    let mut bookings = Vec::new();
    for (learner, e, status) in &shape.bookings {
        // Places taken (booked, then attended or not) are facts; waiting ones are not.
        if matches!(status, 2 | 6 | 7 | 8) {
            updates.push(touch(
                event(*e),
                Relation::Booked,
                user(people[*learner]),
                open,
            ));
        }
        bookings.push(Booking {
            booking_id: Uuid::now_v7().to_string(),
            event_id: events[*e].to_string(),
            user_id: people[*learner].to_string(),
            status: *status,
            ..Default::default()
        });
    }
    let delegation_facts = WriteRelationshipsRequest {
        updates,
        ..Default::default()
    };
    services
        .facts(tenant, ServiceName::Delegation, 2, delegation_facts)
        .await;
    services
        .publish(
            tenant,
            ServiceName::Delegation,
            3,
            topic::ENROLMENTS,
            EnrolmentRecords { enrolments }.encode_to_vec(),
        )
        .await;
    for (e, c) in shape.events.iter().enumerate() {
        let record = EventRecord {
            event: Some(Event {
                event_id: events[e].to_string(),
                course_id: courses[*c].to_string(),
                title: format!("Event {e}"),
                starts_at: Some(prost_types::Timestamp {
                    seconds: now + 86_400,
                    nanos: 0,
                }),
                ends_at: Some(prost_types::Timestamp {
                    seconds: now + 90_000,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        };
        services
            .publish(
                tenant,
                ServiceName::Delegation,
                4 + e as i64,
                topic::EVENT,
                record.encode_to_vec(),
            )
            .await;
    }
    services
        .publish(
            tenant,
            ServiceName::Delegation,
            10,
            topic::BOOKINGS,
            BookingRecords { bookings }.encode_to_vec(),
        )
        .await;

    World {
        tenant,
        people,
        on_course,
        on_event,
        courses,
        events,
    }
}

/// The role each person holds (of [`ROLES`], and its unit): placed roles only where locations
/// are on.
fn held_roles(shape: &Shape) -> Vec<Option<(usize, usize)>> {
    shape
        .roles
        .iter()
        .map(|role| role.filter(|(role, _)| !ROLES[*role].1 || shape.locations))
        .collect()
}

/// Assigns each person's role, as identity's trusted path does.
async fn assign(
    services: &Services,
    tenant: TenantId,
    held: &[Option<(usize, usize)>],
    people: &[UserId],
    units: &[Uuid],
) {
    let mut roles = RoleAssignmentServiceClient::new(
        services
            .authorization
            .authorized(&services.auth.tenant_service_token("identity", tenant)),
    );
    for (person, role) in held.iter().enumerate() {
        let Some((role, at)) = role else { continue };
        let (role_id, placed) = ROLES[*role];
        roles
            .assign_role(AssignRoleRequest {
                user_id: people[person].to_string(),
                role_id: role_id.into(),
                unit_id: match placed {
                    true => units[*at].to_string(),
                    false => String::new(),
                },
                ..Default::default()
            })
            .await
            .unwrap_or_else(|refused| panic!("{role_id}: {refused:?}"));
    }
}

/// Which of `resources` `subject` may read reports on, per authorization.
async fn allowed(
    services: &Services,
    tenant: TenantId,
    subject: UserId,
    resources: &[ObjectReference],
) -> Vec<bool> {
    let answer = PermissionServiceClient::new(
        services
            .authorization
            .authorized(&services.auth.user_token(tenant, subject)),
    )
    .batch_check(BatchCheckRequest {
        items: resources
            .iter()
            .map(|resource| BatchCheckItem {
                subject_id: String::new(),
                permission: "reports.read".into(),
                resource: Some(resource.clone()),
            })
            .collect(),
        consistency: Some(Consistency {
            requirement: Some(consistency::Requirement::FullyConsistent(true)),
        }),
    })
    .await
    .unwrap()
    .into_inner();
    answer
        .results
        .iter()
        .map(|result| result.decision() == Decision::Allowed)
        .collect()
}

/// Every (learner, course) of `caller`'s report, page after page.
async fn reported(
    services: &Services,
    tenant: TenantId,
    caller: UserId,
) -> BTreeSet<(String, String)> {
    let mut client = ReportServiceClient::new(
        services
            .reporting
            .authorized(&services.auth.user_token(tenant, caller)),
    );
    let (mut rows, mut next) = (BTreeSet::new(), String::new());
    loop {
        let page = client
            .list_learner_progress(ListLearnerProgressRequest {
                page_size: 4,
                page_token: next,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for row in page.rows {
            assert!(
                rows.insert((row.user_id, row.course_id)),
                "a row came twice"
            );
        }
        if page.next_page_token.is_empty() {
            return rows;
        }
        next = page.next_page_token;
    }
}

/// Every (learner, event) of `caller`'s attendance report, page after page.
async fn attended(
    services: &Services,
    tenant: TenantId,
    caller: UserId,
) -> BTreeSet<(String, String)> {
    let mut client = ReportServiceClient::new(
        services
            .reporting
            .authorized(&services.auth.user_token(tenant, caller)),
    );
    let (mut rows, mut next) = (BTreeSet::new(), String::new());
    loop {
        let page = client
            .list_attendance(ListAttendanceRequest {
                page_size: 4,
                page_token: next,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for row in page.rows {
            assert!(rows.insert((row.user_id, row.event_id)), "a row came twice");
        }
        if page.next_page_token.is_empty() {
            return rows;
        }
        next = page.next_page_token;
    }
}

async fn holds(services: &Services, shape: &Shape) {
    let world = tell(services, shape).await;
    let people: Vec<_> = world
        .people
        .iter()
        .map(|id| reference(ObjectType::User, id))
        .collect();
    for caller in 0..PEOPLE {
        let on_person = allowed(services, world.tenant, world.people[caller], &people).await;
        let on_course = &world.on_course[caller];
        let expected: BTreeSet<(String, String)> = shape
            .enrolments
            .iter()
            .filter(|(learner, course, state)| {
                *state != EnrolmentState::Withdrawn as i32
                    && (on_person[*learner] || on_course[*course])
            })
            .map(|(learner, course, _)| {
                (
                    world.people[*learner].to_string(),
                    world.courses[*course].to_string(),
                )
            })
            .collect();
        let bookings: BTreeSet<(String, String)> = shape
            .bookings
            .iter()
            .filter(|(learner, event, _)| {
                on_person[*learner]
                    || on_course[shape.events[*event]]
                    || world.on_event[caller][*event]
            })
            .map(|(learner, event, _)| {
                (
                    world.people[*learner].to_string(),
                    world.events[*event].to_string(),
                )
            })
            .collect();
        assert_eq!(
            attended(services, world.tenant, world.people[caller]).await,
            bookings,
            "attendance of person {caller} ({:?}) of {shape:#?}",
            shape.roles[caller]
        );
        let reported = reported(services, world.tenant, world.people[caller]).await;
        assert_eq!(
            reported, expected,
            "person {caller} ({:?}) of {shape:#?}",
            shape.roles[caller]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_people_in_a_report_are_exactly_those_check_allows() {
    let services = Services::start().await;
    let mut runner = TestRunner::new_with_rng(
        Config::with_cases(CASES),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = shape();
    for _ in 0..CASES {
        let shape = strategy.new_tree(&mut runner).unwrap().current();
        holds(&services, &shape).await;
    }
}
