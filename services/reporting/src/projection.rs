//! Projections: what reporting keeps of the events it reads, each event applied once.
//!
//! An event is applied in one transaction with its inbox row (`consumed_events`, keyed by the
//! event id): a copy delivered again (a replica that crashed before acknowledging, a publisher
//! that sent it twice) finds its id there and changes nothing. Rows carry the owning service and
//! its outbox sequence, and change only for an event at least as new (within one event, later
//! updates of a row win, as in authorization): two reporting replicas read one stream side by
//! side, so events can be applied out of order, and the last commit still wins. Each relation
//! has one owning service today; a row another service writes is taken as it comes.
//!
//! Projected today: authorization facts events (relationships and people's statuses), the graph
//! reports are scoped by; identity's person records (`reporting.people`: names, e-mail, status,
//! primary group; nothing personal for the anonymised or deleted) and of units and groups
//! (`reporting.directory`: names, parents); delegation's course,
//! enrolment, event and booking records (`reporting.course`, `reporting.enrolments`,
//! `reporting.event`, `reporting.bookings`, `reporting.competency`,
//! `reporting.enrolment_request`, `reporting.order`: titles, states, progress times, scores,
//! bookings, sign-offs, requests, shop orders and their invitations); authorization's records of who holds which role (`reporting.roles`: each holder's
//! assignments whole, the main one marked),
//! with the running totals of enrolments by course and state (`progress_totals`) moved in the
//! same transaction. Other topics are recorded as consumed and otherwise ignored.

use std::collections::HashMap;

use lms_api::authorization::v1::{Operation, Relationship, WriteRelationshipsRequest};
use lms_api::common::v1::ObjectReference;
use lms_api::delegation::v1::Enrolment;
use lms_api::reporting::v1::{
    BookingRecords, CompetencyRecord, CourseRecord, DirectoryRecords, EnrolmentRecords,
    EnrolmentRequestRecord, EventRecord, OrderRecord, PersonRecords, RebuildMark, RoleRecords,
};
use lms_runtime::outbox::{PublishedEvent, topic};
use lms_runtime::request::seconds;
use lms_runtime::transaction::begin_write;
use lms_runtime::{Database, ServiceName};
use prost::Message;

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The store failed; the event stays unacknowledged and is applied later.
    #[error("reporting store: {0}")]
    Store(#[from] sqlx::Error),
    /// The payload is not what its topic says: it never will be, so it is skipped.
    #[error("unreadable {topic} event {event_id}")]
    Unreadable {
        /// The event's topic.
        topic: String,
        /// The event's id.
        event_id: uuid::Uuid,
    },
}

/// Applies events to reporting's store.
#[derive(Clone, Debug)]
pub struct Projection {
    database: Database,
}

const INBOX: &str = "INSERT INTO consumed_events (event_id, stream_id) VALUES ($1, $2) \
     ON CONFLICT (event_id) DO NOTHING";

const FACT: &str = "INSERT INTO projected_facts (tenant_id, resource_type, resource_id, \
     resource_tenant, relation, subject_type, subject_id, subject_tenant, valid_from, valid_until, \
     present, service, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (tenant_id, resource_type, resource_id, resource_tenant, relation, subject_type, \
     subject_id, subject_tenant) DO UPDATE SET valid_from = excluded.valid_from, \
     valid_until = excluded.valid_until, present = excluded.present, service = excluded.service, \
     sequence = excluded.sequence \
     WHERE projected_facts.service <> excluded.service OR projected_facts.sequence <= excluded.sequence";

const STATUS: &str = "INSERT INTO projected_statuses (tenant_id, user_id, status, \
     restrict_bookings, service, sequence) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET status = excluded.status, \
     restrict_bookings = excluded.restrict_bookings, service = excluded.service, \
     sequence = excluded.sequence \
     WHERE projected_statuses.service <> excluded.service \
     OR projected_statuses.sequence <= excluded.sequence";

const PERSON_ROW: &str = "INSERT INTO projected_people (tenant_id, user_id, given_name, \
     family_name, email, status, primary_group_id, external_id, removed, sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET given_name = excluded.given_name, \
     family_name = excluded.family_name, email = excluded.email, status = excluded.status, \
     primary_group_id = excluded.primary_group_id, external_id = excluded.external_id, \
     removed = excluded.removed, sequence = excluded.sequence \
     WHERE projected_people.sequence <= excluded.sequence";

const COURSE_ROW: &str = "INSERT INTO projected_courses (tenant_id, course_id, title, unit_id, \
     status, removed, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (tenant_id, course_id) DO UPDATE SET title = excluded.title, \
     unit_id = excluded.unit_id, status = excluded.status, removed = excluded.removed, \
     sequence = excluded.sequence WHERE projected_courses.sequence <= excluded.sequence";

const ENROLMENT_ROW: &str = "INSERT INTO projected_enrolments (tenant_id, enrolment_id, \
     course_id, user_id, state, enrolled_at, started_at, completed_at, withdrawn_at, score, \
     sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (tenant_id, enrolment_id) DO UPDATE SET state = excluded.state, \
     started_at = excluded.started_at, completed_at = excluded.completed_at, \
     withdrawn_at = excluded.withdrawn_at, score = excluded.score, sequence = excluded.sequence \
     WHERE projected_enrolments.sequence <= excluded.sequence";

/// An enrolment's course and state before an event changes it.
const ENROLMENT_BEFORE: &str = "SELECT course_id, state FROM projected_enrolments \
     WHERE tenant_id = $1 AND enrolment_id = $2";

/// Adds `$4` learners to a course's total in a state (taking one off with -1).
const TOTAL: &str = "INSERT INTO progress_totals (tenant_id, course_id, state, learners) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, course_id, state) \
     DO UPDATE SET learners = progress_totals.learners + excluded.learners";

/// Advisory-lock spaces on PostgreSQL (the first key of the two-key locks); SQLite has one
/// writer at a time and needs none. A batch holds its tenants' rebuild locks shared for its
/// whole transaction and a rebuild's closing mark holds its tenant's exclusively, so a sweep
/// and recount never interleave with an enrolment change of that tenant. Enrolments are held
/// by bucket (a hash of tenant and enrolment, [`ENROLMENT_BUCKETS`] of them), in bucket order,
/// so two replicas applying changes of the same enrolment move its totals one after the other
/// (each reads the state the other left), whatever the batch's size: at most that many locks,
/// so a few replicas' batches fit PostgreSQL's default lock table (64 per connection slot).
const REBUILD_SPACE: i32 = 0x4c4d_5302;
const ENROLMENT_SPACE: i32 = 0x4c4d_5303;
const ENROLMENT_BUCKETS: u64 = 1024;

const LOCK_TENANTS_SHARED: &str =
    "SELECT pg_advisory_xact_lock_shared($1, k) FROM UNNEST($2::int[]) AS k";
const LOCK_TENANT: &str = "SELECT pg_advisory_xact_lock($1, $2)";
const LOCK_BUCKETS: &str = "SELECT pg_advisory_xact_lock($1, k) FROM UNNEST($2::int[]) AS k";

/// A stable 32-bit key of `parts` (FNV-1a): the same on every replica.
fn lock_key(parts: &[&[u8]], buckets: Option<u64>) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(b"/") {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    match buckets {
        Some(buckets) => (hash % buckets) as i32,
        None => (hash ^ (hash >> 32)) as u32 as i32,
    }
}

fn tenant_lock(tenant: uuid::Uuid) -> i32 {
    lock_key(&[tenant.as_bytes()], None)
}

const EVENT_ROW: &str = "INSERT INTO projected_events (tenant_id, event_id, course_id, title, \
     starts_at, ends_at, status, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (tenant_id, event_id) DO UPDATE SET title = excluded.title, \
     starts_at = excluded.starts_at, ends_at = excluded.ends_at, status = excluded.status, \
     sequence = excluded.sequence WHERE projected_events.sequence <= excluded.sequence";

const BOOKING_ROW: &str = "INSERT INTO projected_bookings (tenant_id, booking_id, event_id, \
     user_id, status, arrival, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (tenant_id, booking_id) DO UPDATE SET status = excluded.status, \
     arrival = excluded.arrival, sequence = excluded.sequence \
     WHERE projected_bookings.sequence <= excluded.sequence";

// A sign-off never changes; a newer copy (a rebuild's) only moves its sequence on.
const COMPETENCY_ROW: &str = "INSERT INTO projected_competencies (tenant_id, check_id, \
     course_id, user_id, signed_off_by, signed_off_at, note, sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (tenant_id, check_id) DO UPDATE SET sequence = excluded.sequence \
     WHERE projected_competencies.sequence < excluded.sequence";

const ORDER_ROW: &str = "INSERT INTO projected_orders (tenant_id, order_id, shop_order_id, \
     course_id, buyer_id, seats, buyer_role, waiting, taken, placed_at, sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (tenant_id, order_id) DO UPDATE SET waiting = excluded.waiting, \
     taken = excluded.taken, sequence = excluded.sequence \
     WHERE projected_orders.sequence <= excluded.sequence";

/// From which sequence an owner re-sent every record of a topic (a rebuild), if ever.
const REBUILT_FROM: &str = "SELECT from_sequence FROM projection_rebuilds \
     WHERE tenant_id = $1 AND service = $2 AND topic = $3";

const REBUILT: &str = "INSERT INTO projection_rebuilds (tenant_id, service, topic, from_sequence) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, service, topic) \
     DO UPDATE SET from_sequence = excluded.from_sequence, rebuilt_at = CURRENT_TIMESTAMP \
     WHERE projection_rebuilds.from_sequence < excluded.from_sequence";

const CLEAR_TOTALS: &str = "DELETE FROM progress_totals WHERE tenant_id = $1";

const COUNT_TOTALS: &str = "INSERT INTO progress_totals (tenant_id, course_id, state, learners) \
     SELECT tenant_id, course_id, state, COUNT(*) FROM projected_enrolments WHERE tenant_id = $1 \
     GROUP BY tenant_id, course_id, state";

/// The tables a rebuild of `topic` by `service` replaces, each with whether its rows name
/// their service (relationship facts: several services own some): none for a topic no
/// rebuild replaces.
fn rebuilt_tables(service: ServiceName, topic: &str) -> &'static [(&'static str, bool)] {
    match (service, topic) {
        (ServiceName::Identity, topic::PEOPLE) => &[("projected_people", false)],
        (ServiceName::Identity, topic::DIRECTORY) => {
            &[("projected_units", false), ("projected_groups", false)]
        }
        (ServiceName::Identity | ServiceName::Delegation, topic::FACTS) => {
            &[("projected_facts", true), ("projected_statuses", true)]
        }
        (ServiceName::Delegation, topic::COURSE) => &[("projected_courses", false)],
        (ServiceName::Delegation, topic::ENROLMENTS) => &[("projected_enrolments", false)],
        (ServiceName::Delegation, topic::EVENT) => &[("projected_events", false)],
        (ServiceName::Delegation, topic::BOOKINGS) => &[("projected_bookings", false)],
        (ServiceName::Delegation, topic::COMPETENCY) => &[("projected_competencies", false)],
        (ServiceName::Delegation, topic::ENROLMENT_REQUEST) => {
            &[("projected_enrolment_requests", false)]
        }
        (ServiceName::Delegation, topic::ORDER) => &[("projected_orders", false)],
        (ServiceName::Authorization, topic::ROLES) => &[
            ("projected_role_holders", false),
            ("projected_role_assignments", false),
        ],
        _ => &[],
    }
}

/// The topic a rebuild names for an event's: re-sent facts are facts.
fn rebuilt_topic(topic: &str) -> &str {
    match topic {
        topic::FACTS_RESENT => topic::FACTS,
        other => other,
    }
}

/// Whether an event of `topic` by `service` is older than a rebuild when its sequence is below
/// the rebuild's start.
fn rebuildable(service: ServiceName, topic: &str) -> bool {
    !rebuilt_tables(service, rebuilt_topic(topic)).is_empty()
}

const UNIT_ROW: &str = "INSERT INTO projected_units (tenant_id, unit_id, name, parent_unit_id, \
     removed, sequence) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, unit_id) \
     DO UPDATE SET name = excluded.name, parent_unit_id = excluded.parent_unit_id, \
     removed = excluded.removed, sequence = excluded.sequence \
     WHERE projected_units.sequence <= excluded.sequence";

const GROUP_ROW: &str = "INSERT INTO projected_groups (tenant_id, group_id, name, removed, \
     sequence) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, group_id) \
     DO UPDATE SET name = excluded.name, removed = excluded.removed, sequence = excluded.sequence \
     WHERE projected_groups.sequence <= excluded.sequence";

/// A holder's newest record: takes (one row affected) only when at least as new as the kept.
const ROLE_HOLDER: &str = "INSERT INTO projected_role_holders (tenant_id, user_id, sequence) \
     VALUES ($1, $2, $3) ON CONFLICT (tenant_id, user_id) \
     DO UPDATE SET sequence = excluded.sequence WHERE projected_role_holders.sequence <= excluded.sequence";

const ROLES_CLEARED: &str =
    "DELETE FROM projected_role_assignments WHERE tenant_id = $1 AND user_id = $2";

const ROLE_ROW: &str = "INSERT INTO projected_role_assignments (tenant_id, assignment_id, user_id, \
     role_id, unit_id, valid_from, valid_until, source, main_role, sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (tenant_id, assignment_id) DO UPDATE SET user_id = excluded.user_id, \
     role_id = excluded.role_id, unit_id = excluded.unit_id, valid_from = excluded.valid_from, \
     valid_until = excluded.valid_until, source = excluded.source, \
     main_role = excluded.main_role, sequence = excluded.sequence";

const REQUEST_ROW: &str = "INSERT INTO projected_enrolment_requests (tenant_id, request_id, \
     course_id, user_id, status, requested_at, decided_at, sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (tenant_id, request_id) DO UPDATE SET status = excluded.status, \
     decided_at = excluded.decided_at, sequence = excluded.sequence \
     WHERE projected_enrolment_requests.sequence <= excluded.sequence";

/// What an event's payload holds, decoded.
enum Payload {
    Facts(WriteRelationshipsRequest),
    People(PersonRecords),
    Directory(DirectoryRecords),
    Course(CourseRecord),
    Enrolments(EnrolmentRecords),
    Event(EventRecord),
    Bookings(BookingRecords),
    Competency(CompetencyRecord),
    Request(EnrolmentRequestRecord),
    Order(OrderRecord),
    Roles(RoleRecords),
    /// An owner's mark around re-sent records.
    Rebuild(RebuildMark),
    /// Nothing reporting projects.
    Other,
}

/// Whether a person's name, e-mail and external id are kept: not for the anonymised or the
/// deleted.
fn kept_personal(person: &lms_api::reporting::v1::PersonRecord) -> bool {
    !person.removed && person.status != lms_api::common::v1::UserStatus::Anonymised as i32
}

/// One relationship row as the statements bind it.
struct FactRow<'a> {
    resource: &'a ObjectReference,
    relation: i32,
    subject: &'a ObjectReference,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    present: bool,
}

impl<'a> FactRow<'a> {
    fn of(operation: i32, relationship: &'a Relationship) -> Option<Self> {
        Some(Self {
            resource: relationship.resource.as_ref()?,
            relation: relationship.relation,
            subject: relationship.subject.as_ref()?,
            valid_from: seconds(relationship.valid_from.as_ref()),
            valid_until: seconds(relationship.valid_until.as_ref()),
            present: operation != Operation::Delete as i32,
        })
    }
}

/// Applies `event` in `tx` once, by its id in the inbox, unless a rebuild made it stale; answers
/// whether it was new (a macro: the same statements on either backend's transaction).
macro_rules! apply_one {
    ($tx:expr, $event:expr, $stream_id:expr, $payload:expr) => {{
        let event: &PublishedEvent = $event;
        let inserted = sqlx::query(INBOX)
            .bind(event.event.event_id)
            .bind($stream_id)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            false
        } else {
            // A record older than a rebuild of its topic is one the rebuild re-sent or found
            // gone: applied now it could only bring back what is no longer so.
            let rebuilt_from: Option<i64> = match rebuildable(event.service, &event.event.topic) {
                true => {
                    sqlx::query_scalar(REBUILT_FROM)
                        .bind(event.event.tenant.as_uuid())
                        .bind(event.service.as_str())
                        .bind(rebuilt_topic(&event.event.topic))
                        .fetch_optional(&mut *$tx)
                        .await?
                }
                false => None,
            };
            if !rebuilt_from.is_some_and(|from| event.event.sequence < from) {
                apply_payload!($tx, event, $payload);
            }
            true
        }
    }};
}

/// Applies what `event`'s payload holds in `tx` (its inbox row and staleness are the caller's).
macro_rules! apply_payload {
    ($tx:expr, $event:expr, $payload:expr) => {{
        let event: &PublishedEvent = $event;
        {
            let tenant = event.event.tenant.as_uuid();
            let (service, sequence) = (event.service.as_str(), event.event.sequence);
            let payload: &Payload = $payload;
            match payload {
                Payload::People(records) => {
                    for person in &records.people {
                        // Nothing personal is kept of the anonymised and deleted, whatever came.
                        let personal = |value: &str| match kept_personal(person) {
                            true => value.to_owned(),
                            false => String::new(),
                        };
                        sqlx::query(PERSON_ROW)
                            .bind(tenant)
                            .bind(&person.user_id)
                            .bind(personal(&person.given_name))
                            .bind(personal(&person.family_name))
                            .bind(personal(&person.email))
                            .bind(person.status as i16)
                            .bind(&person.primary_group_id)
                            .bind(personal(&person.external_id))
                            .bind(person.removed)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                Payload::Course(CourseRecord {
                    course: Some(course),
                    removed,
                }) => {
                    sqlx::query(COURSE_ROW)
                        .bind(tenant)
                        .bind(&course.course_id)
                        .bind(&course.title)
                        .bind(&course.unit_id)
                        .bind(course.status as i16)
                        .bind(*removed)
                        .bind(sequence)
                        .execute(&mut *$tx)
                        .await?;
                }
                Payload::Enrolments(records) => {
                    // One by one (SQLite; PostgreSQL writes them set-wise, `write_enrolments`),
                    // the totals moved once per course and state at the end, in key order.
                    let mut enrolments: Vec<_> = records.enrolments.iter().collect();
                    enrolments.sort_by(|a, b| a.enrolment_id.cmp(&b.enrolment_id));
                    let mut moves: std::collections::BTreeMap<(String, i16), i64> =
                        std::collections::BTreeMap::new();
                    for e in enrolments {
                        let before: Option<(String, i16)> = sqlx::query_as(ENROLMENT_BEFORE)
                            .bind(tenant)
                            .bind(&e.enrolment_id)
                            .fetch_optional(&mut *$tx)
                            .await?;
                        let changed = sqlx::query(ENROLMENT_ROW)
                            .bind(tenant)
                            .bind(&e.enrolment_id)
                            .bind(&e.course_id)
                            .bind(&e.user_id)
                            .bind(e.state as i16)
                            .bind(seconds(e.enrolled_at.as_ref()))
                            .bind(seconds(e.started_at.as_ref()))
                            .bind(seconds(e.completed_at.as_ref()))
                            .bind(seconds(e.withdrawn_at.as_ref()))
                            .bind(e.score)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?
                            .rows_affected()
                            > 0;
                        // The totals follow the row: only a change that took moves them.
                        if changed {
                            if let Some(before) = before {
                                *moves.entry(before).or_default() -= 1;
                            }
                            *moves
                                .entry((e.course_id.clone(), e.state as i16))
                                .or_default() += 1;
                        }
                    }
                    for ((course, state), learners) in moves {
                        if learners != 0 {
                            sqlx::query(TOTAL)
                                .bind(tenant)
                                .bind(course)
                                .bind(state)
                                .bind(learners)
                                .execute(&mut *$tx)
                                .await?;
                        }
                    }
                }
                Payload::Event(EventRecord { event: Some(e) }) => {
                    sqlx::query(EVENT_ROW)
                        .bind(tenant)
                        .bind(&e.event_id)
                        .bind(&e.course_id)
                        .bind(&e.title)
                        .bind(seconds(e.starts_at.as_ref()).unwrap_or_default())
                        .bind(seconds(e.ends_at.as_ref()).unwrap_or_default())
                        .bind(e.status as i16)
                        .bind(sequence)
                        .execute(&mut *$tx)
                        .await?;
                }
                Payload::Bookings(records) => {
                    for b in &records.bookings {
                        sqlx::query(BOOKING_ROW)
                            .bind(tenant)
                            .bind(&b.booking_id)
                            .bind(&b.event_id)
                            .bind(&b.user_id)
                            .bind(b.status as i16)
                            .bind(b.arrival)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                Payload::Competency(CompetencyRecord { check: Some(c) }) => {
                    let signed = c.signed_off_by.clone().unwrap_or_default();
                    sqlx::query(COMPETENCY_ROW)
                        .bind(tenant)
                        .bind(&c.check_id)
                        .bind(&c.course_id)
                        .bind(&c.user_id)
                        .bind(&signed.actor_id)
                        .bind(seconds(signed.at.as_ref()).unwrap_or_default())
                        .bind(&c.note)
                        .bind(sequence)
                        .execute(&mut *$tx)
                        .await?;
                }
                Payload::Request(EnrolmentRequestRecord { request: Some(r) }) => {
                    sqlx::query(REQUEST_ROW)
                        .bind(tenant)
                        .bind(&r.request_id)
                        .bind(&r.course_id)
                        .bind(&r.user_id)
                        .bind(r.status as i16)
                        .bind(seconds(r.requested_at.as_ref()).unwrap_or_default())
                        .bind(seconds(r.decided_at.as_ref()))
                        .bind(sequence)
                        .execute(&mut *$tx)
                        .await?;
                }
                Payload::Order(OrderRecord {
                    order: Some(o),
                    waiting,
                    taken,
                }) => {
                    sqlx::query(ORDER_ROW)
                        .bind(tenant)
                        .bind(&o.order_id)
                        .bind(&o.shop_order_id)
                        .bind(&o.course_id)
                        .bind(&o.buyer_user_id)
                        .bind(o.seats)
                        .bind(o.buyer_role as i16)
                        .bind(*waiting)
                        .bind(*taken)
                        .bind(seconds(o.placed_at.as_ref()).unwrap_or_default())
                        .bind(sequence)
                        .execute(&mut *$tx)
                        .await?;
                }
                Payload::Facts(facts) => {
                    for update in &facts.updates {
                        let Some(row) = update
                            .relationship
                            .as_ref()
                            .and_then(|r| FactRow::of(update.operation, r))
                        else {
                            continue;
                        };
                        sqlx::query(FACT)
                            .bind(tenant)
                            .bind(row.resource.r#type as i16)
                            .bind(&row.resource.id)
                            .bind(&row.resource.tenant_id)
                            .bind(row.relation as i16)
                            .bind(row.subject.r#type as i16)
                            .bind(&row.subject.id)
                            .bind(&row.subject.tenant_id)
                            .bind(row.valid_from)
                            .bind(row.valid_until)
                            .bind(row.present)
                            .bind(service)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    for status in &facts.statuses {
                        sqlx::query(STATUS)
                            .bind(tenant)
                            .bind(&status.user_id)
                            .bind(status.status as i16)
                            .bind(status.restrict_bookings)
                            .bind(service)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                Payload::Directory(records) => {
                    for unit in &records.units {
                        sqlx::query(UNIT_ROW)
                            .bind(tenant)
                            .bind(&unit.unit_id)
                            .bind(&unit.name)
                            .bind(&unit.parent_unit_id)
                            .bind(unit.removed)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    for group in &records.groups {
                        sqlx::query(GROUP_ROW)
                            .bind(tenant)
                            .bind(&group.group_id)
                            .bind(&group.name)
                            .bind(group.removed)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                Payload::Roles(records) => {
                    for holder in &records.holders {
                        // The holder's assignments are replaced whole, by a newer record only.
                        let newer = sqlx::query(ROLE_HOLDER)
                            .bind(tenant)
                            .bind(&holder.user_id)
                            .bind(sequence)
                            .execute(&mut *$tx)
                            .await?
                            .rows_affected()
                            > 0;
                        if !newer {
                            continue;
                        }
                        sqlx::query(ROLES_CLEARED)
                            .bind(tenant)
                            .bind(&holder.user_id)
                            .execute(&mut *$tx)
                            .await?;
                        for a in &holder.assignments {
                            sqlx::query(ROLE_ROW)
                                .bind(tenant)
                                .bind(&a.assignment_id)
                                .bind(&holder.user_id)
                                .bind(&a.role_id)
                                .bind(&a.unit_id)
                                .bind(seconds(a.valid_from.as_ref()))
                                .bind(seconds(a.valid_until.as_ref()))
                                .bind(a.source as i16)
                                .bind(a.main_role)
                                .bind(sequence)
                                .execute(&mut *$tx)
                                .await?;
                        }
                    }
                }
                Payload::Rebuild(mark) if mark.finished => {
                    let from = mark.started_sequence;
                    for topic in &mark.topics {
                        let tables = rebuilt_tables(event.service, topic);
                        if tables.is_empty() {
                            continue;
                        }
                        for (table, by_service) in tables {
                            // Rows naming their service are that service's alone ($3).
                            let whose = if *by_service { " AND service = $3" } else { "" };
                            let sweep = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DELETE FROM {table} WHERE tenant_id = $1 AND sequence < $2{whose}"
                            )))
                            .bind(tenant)
                            .bind(from);
                            match by_service {
                                true => sweep.bind(service).execute(&mut *$tx).await?,
                                false => sweep.execute(&mut *$tx).await?,
                            };
                        }
                        sqlx::query(REBUILT)
                            .bind(tenant)
                            .bind(service)
                            .bind(topic)
                            .bind(from)
                            .execute(&mut *$tx)
                            .await?;
                        // Counted again under the tenant's rebuild lock (PostgreSQL): no
                        // enrolment change of the tenant moves a total meanwhile.
                        if topic == topic::ENROLMENTS {
                            sqlx::query(CLEAR_TOTALS)
                                .bind(tenant)
                                .execute(&mut *$tx)
                                .await?;
                            sqlx::query(COUNT_TOTALS)
                                .bind(tenant)
                                .execute(&mut *$tx)
                                .await?;
                        }
                    }
                }
                // Consumed, nothing to keep.
                Payload::Rebuild(_)
                | Payload::Course(_)
                | Payload::Event(_)
                | Payload::Competency(_)
                | Payload::Request(_)
                | Payload::Order(_)
                | Payload::Other => {}
            }
        }
    }};
}

const SKIPPED: &str = "INSERT INTO skipped_entries (stream, entry_id, reason, event_id, tenant, \
     sequence, topic, payload, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (stream, entry_id) DO NOTHING";

/// Whether the store failed on its own account (unreachable, out of connections), so the same
/// event may apply later, rather than refusing this event's statement.
pub fn is_transient(error: &sqlx::Error) -> bool {
    // Unreachable or overloaded, SQLite busy, and PostgreSQL's deadlocks and serialization
    // failures, which the same event survives when applied again.
    lms_runtime::store::is_outage(error)
}

/// What `event` carries, or why it cannot be read.
fn decode(event: &PublishedEvent) -> Result<Payload, ProjectionError> {
    let unreadable = || ProjectionError::Unreadable {
        topic: event.event.topic.clone(),
        event_id: event.event.event_id,
    };
    let bytes = event.event.payload.as_slice();
    Ok(match (event.service, event.event.topic.as_str()) {
        (_, topic::FACTS)
        | (ServiceName::Identity | ServiceName::Delegation, topic::FACTS_RESENT) => {
            Payload::Facts(WriteRelationshipsRequest::decode(bytes).map_err(|_| unreadable())?)
        }
        // Only identity speaks for people, only delegation for courses and enrolments.
        (ServiceName::Identity, topic::PEOPLE) => {
            Payload::People(PersonRecords::decode(bytes).map_err(|_| unreadable())?)
        }
        (ServiceName::Identity, topic::DIRECTORY) => {
            Payload::Directory(DirectoryRecords::decode(bytes).map_err(|_| unreadable())?)
        }
        (ServiceName::Delegation, topic::COURSE) => {
            let record = CourseRecord::decode(bytes).map_err(|_| unreadable())?;
            if record.course.is_none() {
                return Err(unreadable());
            }
            Payload::Course(record)
        }
        (ServiceName::Delegation, topic::ENROLMENTS) => {
            Payload::Enrolments(EnrolmentRecords::decode(bytes).map_err(|_| unreadable())?)
        }
        (ServiceName::Delegation, topic::EVENT) => {
            let record = EventRecord::decode(bytes).map_err(|_| unreadable())?;
            if record.event.is_none() {
                return Err(unreadable());
            }
            Payload::Event(record)
        }
        (ServiceName::Delegation, topic::COMPETENCY) => {
            let record = CompetencyRecord::decode(bytes).map_err(|_| unreadable())?;
            if record.check.is_none() {
                return Err(unreadable());
            }
            Payload::Competency(record)
        }
        (ServiceName::Delegation, topic::ENROLMENT_REQUEST) => {
            let record = EnrolmentRequestRecord::decode(bytes).map_err(|_| unreadable())?;
            if record.request.is_none() {
                return Err(unreadable());
            }
            Payload::Request(record)
        }
        (ServiceName::Delegation, topic::ORDER) => {
            let record = OrderRecord::decode(bytes).map_err(|_| unreadable())?;
            if record.order.is_none() {
                return Err(unreadable());
            }
            Payload::Order(record)
        }
        (ServiceName::Delegation, topic::BOOKINGS) => {
            Payload::Bookings(BookingRecords::decode(bytes).map_err(|_| unreadable())?)
        }
        // Only authorization speaks for who holds which role.
        (ServiceName::Authorization, topic::ROLES) => {
            Payload::Roles(RoleRecords::decode(bytes).map_err(|_| unreadable())?)
        }
        (
            ServiceName::Identity | ServiceName::Authorization | ServiceName::Delegation,
            topic::REBUILD,
        ) => Payload::Rebuild(RebuildMark::decode(bytes).map_err(|_| unreadable())?),
        _ => Payload::Other,
    })
}

/// The inbox rows of a batch, all at once; answers the ids that were not there.
const INBOX_BATCH: &str = "INSERT INTO consumed_events (event_id, stream_id) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[]) ON CONFLICT (event_id) DO NOTHING \
     RETURNING event_id";

const REBUILDS_OF: &str = "SELECT tenant_id, service, topic, from_sequence \
     FROM projection_rebuilds WHERE tenant_id = ANY($1)";

const ENROLMENTS_BEFORE: &str = "SELECT e.tenant_id, e.enrolment_id, e.course_id, e.state, \
     e.sequence FROM projected_enrolments e \
     JOIN UNNEST($1::uuid[], $2::text[]) AS k(t, id) ON e.tenant_id = k.t AND e.enrolment_id = k.id";

const ENROLMENT_ROWS: &str = "INSERT INTO projected_enrolments (tenant_id, enrolment_id, \
     course_id, user_id, state, enrolled_at, started_at, completed_at, withdrawn_at, score, \
     sequence) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], \
     $5::smallint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::real[], \
     $11::bigint[]) \
     ON CONFLICT (tenant_id, enrolment_id) DO UPDATE SET state = excluded.state, \
     started_at = excluded.started_at, completed_at = excluded.completed_at, \
     withdrawn_at = excluded.withdrawn_at, score = excluded.score, sequence = excluded.sequence \
     WHERE projected_enrolments.sequence <= excluded.sequence";

const TOTALS: &str = "INSERT INTO progress_totals (tenant_id, course_id, state, learners) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::smallint[], $4::bigint[]) \
     ON CONFLICT (tenant_id, course_id, state) \
     DO UPDATE SET learners = progress_totals.learners + excluded.learners";

/// A stretch of a batch on PostgreSQL, in one transaction that holds its tenants' rebuild
/// locks shared: the inbox in one statement, each event's records in its order, and the
/// enrolment records (the bulk of the traffic: progress as learners move) gathered and written
/// set-wise at the end, a handful of statements for the lot. Never holds a closing rebuild
/// mark: that goes alone, [`apply_mark_on_postgres`].
async fn apply_on_postgres(
    tx: &mut sqlx::PgConnection,
    events: &[(&PublishedEvent, &str)],
    payloads: &[Payload],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut tenants: Vec<uuid::Uuid> = events
        .iter()
        .map(|(e, _)| e.event.tenant.as_uuid())
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut keys: Vec<i32> = tenants.iter().map(|t| tenant_lock(*t)).collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query(LOCK_TENANTS_SHARED)
        .bind(REBUILD_SPACE)
        .bind(&keys)
        .execute(&mut *tx)
        .await?;
    let ids: Vec<uuid::Uuid> = events.iter().map(|(e, _)| e.event.event_id).collect();
    let streams: Vec<&str> = events.iter().map(|(_, stream)| *stream).collect();
    let mut new: std::collections::HashSet<uuid::Uuid> = sqlx::query_scalar(INBOX_BATCH)
        .bind(&ids)
        .bind(&streams)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let mut rebuilt: HashMap<(uuid::Uuid, String, String), i64> = HashMap::new();
    for (tenant, service, topic, from) in
        sqlx::query_as::<_, (uuid::Uuid, String, String, i64)>(REBUILDS_OF)
            .bind(&tenants)
            .fetch_all(&mut *tx)
            .await?
    {
        rebuilt.insert((tenant, service, topic), from);
    }
    let mut enrolments: Vec<(uuid::Uuid, i64, &Enrolment)> = Vec::new();
    let mut applied = Vec::with_capacity(events.len());
    for ((event, _), payload) in events.iter().zip(payloads) {
        // An id twice in one batch is new the first time only.
        let is_new = new.remove(&event.event.event_id);
        applied.push(is_new);
        if !is_new {
            continue;
        }
        let tenant = event.event.tenant.as_uuid();
        let key = (
            tenant,
            event.service.as_str().to_owned(),
            rebuilt_topic(&event.event.topic).to_owned(),
        );
        if rebuildable(event.service, &event.event.topic)
            && rebuilt
                .get(&key)
                .is_some_and(|from| event.event.sequence < *from)
        {
            continue;
        }
        match payload {
            Payload::Enrolments(records) => enrolments.extend(
                records
                    .enrolments
                    .iter()
                    .map(|e| (tenant, event.event.sequence, e)),
            ),
            _ => apply_payload!(tx, event, payload),
        }
    }
    write_enrolments(tx, enrolments).await?;
    Ok(applied)
}

/// A closing rebuild mark on PostgreSQL, alone in its transaction under its tenant's rebuild
/// lock held exclusively: no batch of the tenant is in flight while it sweeps and counts.
async fn apply_mark_on_postgres(
    tx: &mut sqlx::PgConnection,
    event: &PublishedEvent,
    stream_id: &str,
    payload: &Payload,
) -> Result<bool, sqlx::Error> {
    sqlx::query(LOCK_TENANT)
        .bind(REBUILD_SPACE)
        .bind(tenant_lock(event.event.tenant.as_uuid()))
        .execute(&mut *tx)
        .await?;
    Ok(apply_one!(tx, event, stream_id, payload))
}

/// Whether `payload` closes a rebuild (and so goes alone).
fn closes_rebuild(payload: &Payload) -> bool {
    matches!(payload, Payload::Rebuild(mark) if mark.finished)
}

/// Writes enrolment records set-wise: the newest of each enrolment (the highest sequence, the
/// later among equals: what applying them one by one leaves), locked by bucket in order, each
/// written when at least as new as the stored row, and the running totals moved once per
/// course and state by every change that took.
async fn write_enrolments(
    tx: &mut sqlx::PgConnection,
    records: Vec<(uuid::Uuid, i64, &Enrolment)>,
) -> Result<(), sqlx::Error> {
    use std::collections::BTreeMap;
    use std::collections::btree_map::Entry;
    if records.is_empty() {
        return Ok(());
    }
    let mut newest: BTreeMap<(uuid::Uuid, &str), (i64, &Enrolment)> = BTreeMap::new();
    for (tenant, sequence, record) in records {
        match newest.entry((tenant, record.enrolment_id.as_str())) {
            Entry::Vacant(slot) => {
                slot.insert((sequence, record));
            }
            Entry::Occupied(mut slot) => {
                if sequence >= slot.get().0 {
                    slot.insert((sequence, record));
                }
            }
        }
    }
    let (tenants, ids): (Vec<uuid::Uuid>, Vec<&str>) = newest.keys().copied().unzip();
    let mut buckets: Vec<i32> = newest
        .keys()
        .map(|(tenant, id)| lock_key(&[tenant.as_bytes(), id.as_bytes()], Some(ENROLMENT_BUCKETS)))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    sqlx::query(LOCK_BUCKETS)
        .bind(ENROLMENT_SPACE)
        .bind(&buckets)
        .execute(&mut *tx)
        .await?;
    let before: HashMap<(uuid::Uuid, String), (String, i16, i64)> =
        sqlx::query_as::<_, (uuid::Uuid, String, String, i16, i64)>(ENROLMENTS_BEFORE)
            .bind(&tenants)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(tenant, id, course, state, sequence)| ((tenant, id), (course, state, sequence)))
            .collect();
    let mut moves: BTreeMap<(uuid::Uuid, String, i16), i64> = BTreeMap::new();
    let mut rows = EnrolmentColumns::default();
    for ((tenant, id), (sequence, e)) in &newest {
        if let Some((course, state, stored)) = before.get(&(*tenant, (*id).to_owned())) {
            if stored > sequence {
                continue;
            }
            *moves.entry((*tenant, course.clone(), *state)).or_default() -= 1;
        }
        *moves
            .entry((*tenant, e.course_id.clone(), e.state as i16))
            .or_default() += 1;
        rows.push(*tenant, *sequence, e);
    }
    rows.bind(sqlx::query(ENROLMENT_ROWS))
        .execute(&mut *tx)
        .await?;
    let moves: Vec<_> = moves
        .into_iter()
        .filter(|(_, learners)| *learners != 0)
        .collect();
    if !moves.is_empty() {
        let tenants: Vec<uuid::Uuid> = moves.iter().map(|((t, _, _), _)| *t).collect();
        let courses: Vec<&str> = moves.iter().map(|((_, c, _), _)| c.as_str()).collect();
        let states: Vec<i16> = moves.iter().map(|((_, _, s), _)| *s).collect();
        let learners: Vec<i64> = moves.iter().map(|(_, l)| *l).collect();
        sqlx::query(TOTALS)
            .bind(tenants)
            .bind(courses)
            .bind(states)
            .bind(learners)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Enrolment rows column by column, as [`ENROLMENT_ROWS`] binds them.
#[derive(Default)]
struct EnrolmentColumns {
    tenants: Vec<uuid::Uuid>,
    ids: Vec<String>,
    courses: Vec<String>,
    users: Vec<String>,
    states: Vec<i16>,
    enrolled: Vec<Option<i64>>,
    started: Vec<Option<i64>>,
    completed: Vec<Option<i64>>,
    withdrawn: Vec<Option<i64>>,
    scores: Vec<Option<f32>>,
    sequences: Vec<i64>,
}

impl EnrolmentColumns {
    fn push(&mut self, tenant: uuid::Uuid, sequence: i64, e: &Enrolment) {
        self.tenants.push(tenant);
        self.ids.push(e.enrolment_id.clone());
        self.courses.push(e.course_id.clone());
        self.users.push(e.user_id.clone());
        self.states.push(e.state as i16);
        self.enrolled.push(seconds(e.enrolled_at.as_ref()));
        self.started.push(seconds(e.started_at.as_ref()));
        self.completed.push(seconds(e.completed_at.as_ref()));
        self.withdrawn.push(seconds(e.withdrawn_at.as_ref()));
        self.scores.push(e.score);
        self.sequences.push(sequence);
    }

    fn bind(
        self,
        query: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.tenants)
            .bind(self.ids)
            .bind(self.courses)
            .bind(self.users)
            .bind(self.states)
            .bind(self.enrolled)
            .bind(self.started)
            .bind(self.completed)
            .bind(self.withdrawn)
            .bind(self.scores)
            .bind(self.sequences)
    }
}

impl Projection {
    /// Keeps an entry that will not be applied (`reason`), with its fields as read, so it is
    /// acknowledged without being lost.
    pub async fn set_aside(
        &self,
        stream: &str,
        entry_id: &str,
        reason: &str,
        fields: &HashMap<String, Vec<u8>>,
    ) -> Result<(), sqlx::Error> {
        let text = |name: &str| {
            fields
                .get(name)
                .map(|value| String::from_utf8_lossy(value).into_owned())
        };
        let bytes = |name: &str| fields.get(name).cloned();
        macro_rules! insert {
            ($pool:expr) => {{
                sqlx::query(SKIPPED)
                    .bind(stream)
                    .bind(entry_id)
                    .bind(reason)
                    .bind(text("id"))
                    .bind(text("tenant"))
                    .bind(text("sequence"))
                    .bind(text("topic"))
                    .bind(bytes("payload"))
                    .bind(bytes("mac"))
                    .execute($pool)
                    .await?;
            }};
        }
        match &self.database {
            Database::Postgres(pool) => insert!(pool),
            Database::Sqlite(pool) => insert!(pool),
        }
        Ok(())
    }

    /// Projections kept in `database`.
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    /// Applies `event`, read at `stream_id` (the stream entry's id, or `bus` in process), once:
    /// `false` when its id was applied before and nothing changed now.
    pub async fn apply(
        &self,
        event: &PublishedEvent,
        stream_id: &str,
    ) -> Result<bool, ProjectionError> {
        let applied = self.apply_batch(&[(event, stream_id)]).await?;
        Ok(applied.first().copied().unwrap_or(false))
    }

    /// Applies `events` (each with where it was read) in order, each once: for each, whether it
    /// was new. Applying them one by one would leave the same rows. One transaction holds them
    /// (on PostgreSQL, one per stretch between closing rebuild marks, and one per mark). An
    /// unreadable payload refuses the whole batch before anything is written, so the caller can
    /// set that event aside and apply the others.
    pub async fn apply_batch(
        &self,
        events: &[(&PublishedEvent, &str)],
    ) -> Result<Vec<bool>, ProjectionError> {
        let payloads = events
            .iter()
            .map(|(event, _)| decode(event))
            .collect::<Result<Vec<_>, _>>()?;
        match &self.database {
            Database::Postgres(pool) => {
                // In stretches between closing rebuild marks, each mark alone: a committed
                // stretch followed by a failure is applied once more as nothing (the inbox).
                let mut applied = Vec::with_capacity(events.len());
                let mut from = 0;
                while from < events.len() {
                    let mut tx = begin_write(pool).await?;
                    if closes_rebuild(&payloads[from]) {
                        let (event, stream_id) = events[from];
                        applied.push(
                            apply_mark_on_postgres(&mut tx, event, stream_id, &payloads[from])
                                .await?,
                        );
                        from += 1;
                    } else {
                        let upto = (from..events.len())
                            .find(|&i| closes_rebuild(&payloads[i]))
                            .unwrap_or(events.len());
                        applied.extend(
                            apply_on_postgres(&mut tx, &events[from..upto], &payloads[from..upto])
                                .await?,
                        );
                        from = upto;
                    }
                    tx.commit().await?;
                }
                Ok(applied)
            }
            Database::Sqlite(pool) => {
                let mut tx = begin_write(pool).await?;
                let mut applied = Vec::with_capacity(events.len());
                for ((event, stream_id), payload) in events.iter().zip(&payloads) {
                    applied.push(apply_one!(tx, event, *stream_id, payload));
                }
                tx.commit().await?;
                Ok(applied)
            }
        }
    }
}
