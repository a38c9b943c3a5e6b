//! The progress report's SQL on both backends: a small tenant projected from the events its
//! services send, read through scopes as authorization's ListGrants would answer them, with
//! filters, both orders and keyset pages. (Which scope a caller gets is held to Check by the
//! e2e property test; this holds the statements to the same answers on SQLite and PostgreSQL.)

use std::collections::BTreeSet;

use lms_api::authorization::v1::{
    HeldGrant, ListGrantsResponse, Operation, Reach, Relation, Relationship, RelationshipUpdate,
    WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType, UserStatus};
use lms_api::delegation::v1::{Course, Enrolment};
use lms_api::reporting::v1::{
    CourseRecord, EnrolmentRecords, PersonRecord, PersonRecords, RebuildMark,
};
use lms_kernel::{TenantId, UserId};
use lms_reporting::progress::{self, Filters, Order, Plan, ProgressRow};
use lms_reporting::projection::Projection;
use lms_reporting::scope_sql::ReportScope;
use lms_reporting::summary;
use lms_runtime::outbox::{OutboxEvent, PublishedEvent, topic};
use lms_runtime::{Database, ServiceName};
use prost::Message;
use uuid::Uuid;

fn reference(r#type: ObjectType, id: Uuid) -> ObjectReference {
    ObjectReference {
        r#type: r#type as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

fn touch(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: Operation::Touch as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            ..Default::default()
        }),
    }
}

/// A tenant: units north > city; a manager of a team (ann, bob); lee employed at city; a
/// tutor of safety; safety owned by north; fire by nobody. Enrolments: ann, bob and lee on
/// safety, ann on fire, cat withdrawn from fire. Bob is anonymised.
struct Tenant {
    id: TenantId,
    north: Uuid,
    city: Uuid,
    team: Uuid,
    manager: Uuid,
    tutor: Uuid,
    ann: Uuid,
    bob: Uuid,
    lee: Uuid,
    safety: Uuid,
    fire: Uuid,
    /// Lee's enrolment on safety.
    lee_on_safety: String,
}

async fn project(database: &Database) -> Tenant {
    let t = Tenant {
        id: TenantId::generate(),
        north: Uuid::now_v7(),
        city: Uuid::now_v7(),
        team: Uuid::now_v7(),
        manager: Uuid::now_v7(),
        tutor: Uuid::now_v7(),
        ann: Uuid::now_v7(),
        bob: Uuid::now_v7(),
        lee: Uuid::now_v7(),
        safety: Uuid::now_v7(),
        fire: Uuid::now_v7(),
        lee_on_safety: Uuid::now_v7().to_string(),
    };
    let cat = Uuid::now_v7();
    let projection = Projection::new(database.clone());
    let mut sequence = 0;
    let mut send = |service: ServiceName, topic: &'static str, payload: Vec<u8>| {
        sequence += 1;
        let event = PublishedEvent {
            service,
            event: OutboxEvent {
                sequence,
                event_id: Uuid::now_v7(),
                tenant: t.id,
                topic: topic.to_owned(),
                payload,
            },
        };
        let projection = projection.clone();
        async move { assert!(projection.apply(&event, "bus").await.unwrap()) }
    };
    let (user, unit, group, course) = (
        |id| reference(ObjectType::User, id),
        |id| reference(ObjectType::Unit, id),
        |id| reference(ObjectType::Group, id),
        |id| reference(ObjectType::Course, id),
    );
    let facts = WriteRelationshipsRequest {
        updates: vec![
            touch(unit(t.city), Relation::ParentUnit, unit(t.north)),
            touch(unit(t.city), Relation::Employee, user(t.lee)),
            touch(group(t.team), Relation::Manager, user(t.manager)),
            touch(group(t.team), Relation::PrimaryMember, user(t.ann)),
            touch(group(t.team), Relation::PrimaryMember, user(t.bob)),
        ],
        ..Default::default()
    };
    send(ServiceName::Identity, topic::FACTS, facts.encode_to_vec()).await;
    let person = |id: Uuid, name: &str, status: UserStatus| PersonRecord {
        user_id: id.to_string(),
        given_name: name.into(),
        family_name: format!("{name}son"),
        email: format!("{name}@example.test"),
        status: status as i32,
        ..Default::default()
    };
    let people = PersonRecords {
        people: vec![
            person(t.ann, "Ann", UserStatus::Active),
            person(t.bob, "Bob", UserStatus::Anonymised),
            person(t.lee, "Lee", UserStatus::Active),
            person(cat, "Cat", UserStatus::Active),
            person(t.manager, "Max", UserStatus::Active),
            person(t.tutor, "Tia", UserStatus::Active),
        ],
    };
    send(ServiceName::Identity, topic::PEOPLE, people.encode_to_vec()).await;
    let duties = WriteRelationshipsRequest {
        updates: vec![
            touch(course(t.safety), Relation::OwningUnit, unit(t.north)),
            touch(course(t.safety), Relation::CourseTutor, user(t.tutor)),
        ],
        ..Default::default()
    };
    send(
        ServiceName::Delegation,
        topic::FACTS,
        duties.encode_to_vec(),
    )
    .await;
    for (id, title) in [(t.safety, "Safety"), (t.fire, "Fire")] {
        let record = CourseRecord {
            course: Some(Course {
                course_id: id.to_string(),
                title: title.into(),
                ..Default::default()
            }),
            removed: false,
        };
        send(
            ServiceName::Delegation,
            topic::COURSE,
            record.encode_to_vec(),
        )
        .await;
    }
    let enrolments = EnrolmentRecords {
        enrolments: vec![
            enrolment(t.ann, t.safety, 3),
            enrolment(t.bob, t.safety, 2),
            Enrolment {
                enrolment_id: t.lee_on_safety.clone(),
                ..enrolment(t.lee, t.safety, 1)
            },
            enrolment(t.ann, t.fire, 1),
            enrolment(cat, t.fire, 4),
        ],
    };
    send(
        ServiceName::Delegation,
        topic::ENROLMENTS,
        enrolments.encode_to_vec(),
    )
    .await;
    t
}

fn enrolment(learner: Uuid, on: Uuid, state: i32) -> Enrolment {
    Enrolment {
        course_id: on.to_string(),
        user_id: learner.to_string(),
        enrolment_id: Uuid::now_v7().to_string(),
        state,
        ..Default::default()
    }
}

fn scope(
    t: &Tenant,
    caller: Uuid,
    grants: &[(Reach, Option<Uuid>)],
    duties: &[&str],
) -> ReportScope {
    let answer = ListGrantsResponse {
        grants: grants
            .iter()
            .map(|(reach, unit)| HeldGrant {
                reach: *reach as i32,
                unit_id: unit.map(|u| u.to_string()).unwrap_or_default(),
                role_id: String::new(),
            })
            .collect(),
        responsibilities: duties.iter().map(|d| (*d).into()).collect(),
        ..Default::default()
    };
    ReportScope::from_grants(t.id, UserId::from_uuid(caller), &answer).unwrap()
}

/// Every row of `scope` under `filters` in `order`, `size` at a time.
async fn read(
    database: &Database,
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    size: i64,
) -> Vec<ProgressRow> {
    // Both ways of reading a page give the same pages, by name also when each stretch of
    // people starts one person long (every stretch boundary crossed).
    let by_scope = read_as(database, scope, filters, order, size, Plan::ByScope, 100).await;
    for first_stretch in [1, 100] {
        let by_name = read_as(
            database,
            scope,
            filters,
            order,
            size,
            Plan::ByName,
            first_stretch,
        )
        .await;
        assert_eq!(by_scope, by_name, "{scope:?} {filters:?} {order:?}");
    }
    by_scope
}

async fn read_as(
    database: &Database,
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    size: i64,
    plan: Plan,
    first_stretch: i64,
) -> Vec<ProgressRow> {
    let (mut all, mut after): (Vec<ProgressRow>, Option<Vec<String>>) = (Vec::new(), None);
    loop {
        let now = lms_runtime::clock::now();
        let rows = progress::page_in_stretches(
            database,
            scope,
            filters,
            order,
            after.as_deref(),
            size + 1,
            now,
            plan,
            first_stretch,
        )
        .await
        .unwrap();
        let (rows, next) =
            lms_runtime::paging::page(rows, size, |row| progress::page_token(row, filters, order));
        all.extend(rows);
        if next.is_empty() {
            return all;
        }
        after = progress::start_after(&next, filters, order).unwrap();
    }
}

fn pairs(rows: &[ProgressRow]) -> BTreeSet<(String, String)> {
    rows.iter()
        .map(|row| (row.user_id.clone(), row.course_id.clone()))
        .collect()
}

fn pair(user: Uuid, course: Uuid) -> (String, String) {
    (user.to_string(), course.to_string())
}

async fn scopes_read_their_rows_with_filters_and_pages(database: Database) {
    let t = project(&database).await;
    let everyone = scope(&t, Uuid::now_v7(), &[(Reach::Tenant, None)], &[]);
    let all = read(&database, &everyone, &Filters::default(), Order::Learner, 2).await;
    // Withdrawn enrolments are no progress; the anonymised stay, without name or e-mail.
    assert_eq!(
        pairs(&all),
        BTreeSet::from([
            pair(t.ann, t.safety),
            pair(t.bob, t.safety),
            pair(t.lee, t.safety),
            pair(t.ann, t.fire),
        ])
    );
    let bob = all
        .iter()
        .find(|row| row.user_id == t.bob.to_string())
        .unwrap();
    assert_eq!((bob.given_name.as_str(), bob.email.as_str()), ("", ""));
    assert_eq!(bob.title, "Safety");
    // By learner: family names in order (the anonymised, nameless, first).
    let families: Vec<&str> = all.iter().map(|row| row.family_name.as_str()).collect();
    assert_eq!(families, ["", "Annson", "Annson", "Leeson"]);
    // By course, one row a page: Fire before Safety, every row once.
    let by_course = read(&database, &everyone, &Filters::default(), Order::Course, 1).await;
    let titles: Vec<&str> = by_course.iter().map(|row| row.title.as_str()).collect();
    assert_eq!(titles, ["Fire", "Safety", "Safety", "Safety"]);

    // A subtree reaches the employees below its place and the courses owned inside it.
    let north = scope(
        &t,
        Uuid::now_v7(),
        &[(Reach::UnitSubtree, Some(t.north))],
        &[],
    );
    assert_eq!(
        pairs(&read(&database, &north, &Filters::default(), Order::Learner, 10).await),
        BTreeSet::from([
            pair(t.ann, t.safety),
            pair(t.bob, t.safety),
            pair(t.lee, t.safety),
        ])
    );
    // The unit alone, at city: Lee, employed there; no course is owned by city.
    let city = scope(&t, Uuid::now_v7(), &[(Reach::Unit, Some(t.city))], &[]);
    assert_eq!(
        pairs(&read(&database, &city, &Filters::default(), Order::Learner, 10).await),
        BTreeSet::from([pair(t.lee, t.safety)])
    );
    // The manager's overseen group; the tutor's course; a learner's own rows.
    let manager = scope(&t, t.manager, &[(Reach::AdministeredGroups, None)], &[]);
    assert_eq!(
        pairs(&read(&database, &manager, &Filters::default(), Order::Learner, 10).await),
        BTreeSet::from([
            pair(t.ann, t.safety),
            pair(t.bob, t.safety),
            pair(t.ann, t.fire)
        ])
    );
    let tutor = scope(&t, t.tutor, &[], &["course_tutor"]);
    assert_eq!(
        pairs(&read(&database, &tutor, &Filters::default(), Order::Learner, 10).await),
        BTreeSet::from([
            pair(t.ann, t.safety),
            pair(t.bob, t.safety),
            pair(t.lee, t.safety),
        ])
    );
    let ann = scope(&t, t.ann, &[(Reach::Own, None)], &[]);
    assert_eq!(
        pairs(&read(&database, &ann, &Filters::default(), Order::Learner, 10).await),
        BTreeSet::from([pair(t.ann, t.safety), pair(t.ann, t.fire)])
    );

    // Filters narrow inside a scope.
    let filtered = |filters: Filters| {
        let (database, everyone) = (database.clone(), everyone.clone());
        async move { pairs(&read(&database, &everyone, &filters, Order::Learner, 10).await) }
    };
    assert_eq!(
        filtered(Filters {
            group: Some(t.team.to_string()),
            course: Some(t.safety.to_string()),
            ..Default::default()
        })
        .await,
        BTreeSet::from([pair(t.ann, t.safety), pair(t.bob, t.safety)])
    );
    assert_eq!(
        filtered(Filters {
            unit: Some(t.north.to_string()),
            ..Default::default()
        })
        .await,
        BTreeSet::from([pair(t.lee, t.safety)])
    );
    assert_eq!(
        filtered(Filters {
            state: Some(3),
            ..Default::default()
        })
        .await,
        BTreeSet::from([pair(t.ann, t.safety)])
    );
    assert_eq!(
        filtered(Filters {
            user: Some(t.ann.to_string()),
            ..Default::default()
        })
        .await,
        BTreeSet::from([pair(t.ann, t.safety), pair(t.ann, t.fire)])
    );

    // A page token is for its own filters and order.
    let token = progress::page_token(&all[0], &Filters::default(), Order::Learner);
    assert!(progress::start_after(&token, &Filters::default(), Order::Course).is_err());
}

on_both_backends!(
    scopes_read_their_rows_with_filters_and_pages_on_postgres,
    scopes_read_their_rows_with_filters_and_pages_on_sqlite,
    scopes_read_their_rows_with_filters_and_pages
);

/// The summary of `scope`: each course's learners by state (index 1 enrolled .. 4 withdrawn),
/// and the sum.
async fn summarised(
    database: &Database,
    scope: &ReportScope,
) -> (Vec<(String, [i64; 5])>, [i64; 5]) {
    let now = lms_runtime::clock::now();
    let courses = summary::courses(database, &summary::page_statement(scope, None, 100, now))
        .await
        .unwrap();
    let total = summary::total(database, &summary::total_statement(scope, now))
        .await
        .unwrap();
    let mut courses: Vec<_> = courses
        .into_iter()
        .map(|course| (course.title, course.by_state))
        .collect();
    // Pages come by course id; compared by title.
    courses.sort();
    (courses, total.by_state)
}

async fn totals_follow_every_enrolment_change_once(database: Database) {
    let t = project(&database).await;
    let everyone = scope(&t, Uuid::now_v7(), &[(Reach::Tenant, None)], &[]);
    let mut expected = vec![
        ("Fire".to_owned(), [0, 1, 0, 0, 1]),
        ("Safety".to_owned(), [0, 1, 1, 1, 0]),
    ];
    assert_eq!(
        summarised(&database, &everyone).await,
        (expected.clone(), [0, 2, 1, 1, 1])
    );

    // Lee completes safety; the same change again, and an older one arriving late, move nothing.
    let projection = Projection::new(database.clone());
    let completed = Enrolment {
        enrolment_id: t.lee_on_safety.clone(),
        ..enrolment(t.lee, t.safety, 3)
    };
    let older = Enrolment {
        enrolment_id: t.lee_on_safety.clone(),
        ..enrolment(t.lee, t.safety, 2)
    };
    for (sequence, record) in [(100, &completed), (100, &completed), (50, &older)] {
        let event = PublishedEvent {
            service: ServiceName::Delegation,
            event: OutboxEvent {
                sequence,
                event_id: Uuid::now_v7(),
                tenant: t.id,
                topic: topic::ENROLMENTS.to_owned(),
                payload: EnrolmentRecords {
                    enrolments: vec![record.clone()],
                }
                .encode_to_vec(),
            },
        };
        projection.apply(&event, "bus").await.unwrap();
    }
    expected[1].1 = [0, 0, 1, 2, 0];
    assert_eq!(
        summarised(&database, &everyone).await,
        (expected.clone(), [0, 1, 1, 2, 1])
    );

    // The tutor sums the course they tutor; a manager reaches no whole course.
    let tutor = scope(&t, t.tutor, &[], &["course_tutor"]);
    assert_eq!(
        summarised(&database, &tutor).await,
        (vec![expected[1].clone()], [0, 0, 1, 2, 0])
    );
    let manager = scope(&t, t.manager, &[(Reach::AdministeredGroups, None)], &[]);
    assert!(!manager.reaches_whole_courses());
}

on_both_backends!(
    totals_follow_every_enrolment_change_once_on_postgres,
    totals_follow_every_enrolment_change_once_on_sqlite,
    totals_follow_every_enrolment_change_once
);

/// An event of `service` at `sequence` for the tenant.
fn published(
    t: &Tenant,
    service: ServiceName,
    sequence: i64,
    topic: &str,
    payload: Vec<u8>,
) -> PublishedEvent {
    PublishedEvent {
        service,
        event: OutboxEvent {
            sequence,
            event_id: Uuid::now_v7(),
            tenant: t.id,
            topic: topic.to_owned(),
            payload,
        },
    }
}

async fn a_rebuild_keeps_what_was_re_sent_and_drops_the_rest(database: Database) {
    let t = project(&database).await;
    let projection = Projection::new(database.clone());
    let apply = |event: PublishedEvent| {
        let projection = projection.clone();
        async move { projection.apply(&event, "bus").await.unwrap() }
    };
    let everyone = scope(&t, Uuid::now_v7(), &[(Reach::Tenant, None)], &[]);
    // Delegation re-sends from sequence 1000 what it still holds: the safety course and Lee's
    // enrolment, completed meanwhile (the change itself was lost); fire and the rest are gone.
    let lee_completed = Enrolment {
        enrolment_id: t.lee_on_safety.clone(),
        ..enrolment(t.lee, t.safety, 3)
    };
    let safety = CourseRecord {
        course: Some(Course {
            course_id: t.safety.to_string(),
            title: "Safety".into(),
            ..Default::default()
        }),
        removed: false,
    };
    let mark = |finished: bool| RebuildMark {
        finished,
        started_sequence: if finished { 1000 } else { 0 },
        topics: if finished {
            vec![topic::COURSE.into(), topic::ENROLMENTS.into()]
        } else {
            Vec::new()
        },
    };
    let delegation = ServiceName::Delegation;
    for event in [
        published(
            &t,
            delegation,
            1000,
            topic::REBUILD,
            mark(false).encode_to_vec(),
        ),
        published(&t, delegation, 1001, topic::COURSE, safety.encode_to_vec()),
        published(
            &t,
            delegation,
            1002,
            topic::ENROLMENTS,
            EnrolmentRecords {
                enrolments: vec![lee_completed.clone()],
            }
            .encode_to_vec(),
        ),
        published(
            &t,
            delegation,
            1003,
            topic::REBUILD,
            mark(true).encode_to_vec(),
        ),
    ] {
        assert!(apply(event).await);
    }
    assert_eq!(
        summarised(&database, &everyone).await,
        (
            vec![("Safety".to_owned(), [0, 0, 0, 1, 0])],
            [0, 0, 0, 1, 0]
        )
    );
    let rows = read(
        &database,
        &everyone,
        &Filters::default(),
        Order::Learner,
        10,
    )
    .await;
    assert_eq!(pairs(&rows), [pair(t.lee, t.safety)].into());

    // An enrolment event older than the rebuild (a replica applying it late) is dropped; a
    // newer one applies.
    let late = published(
        &t,
        delegation,
        900,
        topic::ENROLMENTS,
        EnrolmentRecords {
            enrolments: vec![enrolment(t.ann, t.fire, 1)],
        }
        .encode_to_vec(),
    );
    assert!(apply(late).await);
    let newer = published(
        &t,
        delegation,
        1004,
        topic::ENROLMENTS,
        EnrolmentRecords {
            enrolments: vec![enrolment(t.bob, t.safety, 2)],
        }
        .encode_to_vec(),
    );
    assert!(apply(newer).await);
    let rows = read(
        &database,
        &everyone,
        &Filters::default(),
        Order::Learner,
        10,
    )
    .await;
    assert_eq!(
        pairs(&rows),
        [pair(t.lee, t.safety), pair(t.bob, t.safety)].into()
    );
    assert_eq!(
        summarised(&database, &everyone).await,
        (
            vec![("Safety".to_owned(), [0, 0, 1, 1, 0])],
            [0, 0, 1, 1, 0]
        )
    );
    // Facts were not re-sent, so they stay: the manager still reaches Bob through the team.
    let manager = scope(&t, t.manager, &[(Reach::AdministeredGroups, None)], &[]);
    let rows = read(&database, &manager, &Filters::default(), Order::Learner, 10).await;
    assert_eq!(pairs(&rows), [pair(t.bob, t.safety)].into());
}

on_both_backends!(
    a_rebuild_keeps_what_was_re_sent_and_drops_the_rest_on_postgres,
    a_rebuild_keeps_what_was_re_sent_and_drops_the_rest_on_sqlite,
    a_rebuild_keeps_what_was_re_sent_and_drops_the_rest
);

/// Enrolment events with repeats, older copies, an event delivered twice, a rebuild between
/// them: applied as one batch, they leave exactly what applying them one by one leaves.
async fn a_batch_leaves_what_one_by_one_leaves(one_by_one: Database, batched: Database) {
    let tenant = TenantId::generate();
    let (course, other) = (Uuid::now_v7(), Uuid::now_v7());
    let people: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    let ids: Vec<String> = people.iter().map(|_| Uuid::now_v7().to_string()).collect();
    // An enrolment stays on its course; two of the six are on the other one.
    let record = |i: usize, state: i32| Enrolment {
        enrolment_id: ids[i].clone(),
        course_id: if i % 3 == 2 { other } else { course }.to_string(),
        user_id: people[i].to_string(),
        state,
        ..Default::default()
    };
    let event = |sequence: i64, topic: &str, payload: Vec<u8>| PublishedEvent {
        service: ServiceName::Delegation,
        event: OutboxEvent {
            sequence,
            event_id: Uuid::now_v7(),
            tenant,
            topic: topic.to_owned(),
            payload,
        },
    };
    let enrolments = |sequence: i64, records: Vec<Enrolment>| {
        event(
            sequence,
            topic::ENROLMENTS,
            EnrolmentRecords {
                enrolments: records,
            }
            .encode_to_vec(),
        )
    };
    let twice = enrolments(12, vec![record(3, 3)]);
    let mark = |finished: bool, started: i64| RebuildMark {
        finished,
        started_sequence: started,
        topics: if finished {
            vec![topic::ENROLMENTS.into()]
        } else {
            Vec::new()
        },
    };
    let events = vec![
        enrolments(10, (0..6).map(|i| record(i, 1)).collect()),
        // The same enrolment twice in one event: the later wins.
        enrolments(11, vec![record(0, 2), record(0, 3)]),
        twice.clone(),
        twice,
        // Older than what is stored: changes nothing.
        enrolments(9, vec![record(1, 4)]),
        enrolments(13, vec![record(2, 2), record(1, 2)]),
        // A rebuild re-sends four of the six from 20: the other two are dropped, and an older
        // record after it is stale.
        event(20, topic::REBUILD, mark(false, 0).encode_to_vec()),
        enrolments(
            21,
            vec![record(0, 3), record(1, 2), record(2, 3), record(3, 3)],
        ),
        event(22, topic::REBUILD, mark(true, 20).encode_to_vec()),
        enrolments(15, vec![record(4, 2)]),
        enrolments(23, vec![record(5, 1), record(1, 3)]),
    ];
    let single = Projection::new(one_by_one.clone());
    let mut applied = Vec::new();
    for e in &events {
        applied.push(single.apply(e, "test").await.unwrap());
    }
    let batch: Vec<(&PublishedEvent, &str)> = events.iter().map(|e| (e, "test")).collect();
    let at_once = Projection::new(batched.clone())
        .apply_batch(&batch)
        .await
        .unwrap();
    assert_eq!(applied, at_once);
    assert_eq!(applied.iter().filter(|new| !**new).count(), 1);
    let state = |database: Database| async move {
        let enrolments: Vec<(String, String, i16, i64)> = on_pool!(&database, pool => {
            sqlx::query_as(
                "SELECT enrolment_id, course_id, state, sequence FROM projected_enrolments \
                 ORDER BY enrolment_id",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        });
        let totals: Vec<(String, i16, i64)> = on_pool!(&database, pool => {
            sqlx::query_as(
                "SELECT course_id, state, learners FROM progress_totals WHERE learners <> 0 \
                 ORDER BY course_id, state",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        });
        (enrolments, totals)
    };
    let expected = state(one_by_one.clone()).await;
    assert_eq!(expected.0.len(), 5, "{expected:?}");
    assert_eq!(state(batched).await, expected);
    // And the running totals are what counting the enrolments gives.
    let counted: Vec<(String, i16, i64)> = on_pool!(&one_by_one, pool => {
        sqlx::query_as(
            "SELECT course_id, state, CAST(COUNT(*) AS BIGINT) FROM projected_enrolments \
             GROUP BY course_id, state ORDER BY course_id, state",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    assert_eq!(expected.1, counted);
}

#[tokio::test]
async fn a_batch_leaves_what_one_by_one_leaves_on_postgres() {
    let (a, b) = (
        lms_testkit::postgres_pool(&lms_reporting::MIGRATIONS).await,
        lms_testkit::postgres_pool(&lms_reporting::MIGRATIONS).await,
    );
    a_batch_leaves_what_one_by_one_leaves(
        Database::Postgres(a.pool()),
        Database::Postgres(b.pool()),
    )
    .await;
}

#[tokio::test]
async fn a_batch_leaves_what_one_by_one_leaves_on_sqlite() {
    let (a, b) = (
        lms_testkit::sqlite_pool(&lms_reporting::MIGRATIONS).await,
        lms_testkit::sqlite_pool(&lms_reporting::MIGRATIONS).await,
    );
    a_batch_leaves_what_one_by_one_leaves(Database::Sqlite(a.pool()), Database::Sqlite(b.pool()))
        .await;
}
