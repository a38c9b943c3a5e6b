//! Events, bookings and competency sign-offs.
//!
//! Every booking write locks its event's row first (`FOR UPDATE` on PostgreSQL; the write lock
//! on SQLite), then counts the places taken and hands out arrival numbers under it: that is
//! what keeps an event from taking more than its places and its waitlist in order when bookers
//! on several replicas arrive at once. A course is never locked by a booking, so bookings on
//! different events of one course do not wait for each other.

use std::collections::HashMap;

use lms_kernel::booking::{self, Placement, check_bookable, on_booking};
use lms_kernel::{
    Attendance, BookingError, BookingId, BookingState, CourseStatus, EventId, EventStatus, TenantId,
};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::audit::{append_audit, append_audits};
use super::courses::changeable_course;
use super::notifications::notify;
use super::rows::{booking_from_row, competency_from_row, event_from_row};
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::notices::{About, NoticeKind};
use crate::records::{booking_records, competency_record, event_record};
use crate::store::sql::{SqlStore, course_status};
use crate::store::{
    Booked, BookingCursor, BookingFilter, BookingRecord, CompetencyFilter, CompetencyRecord,
    EventCalledOff, EventFilter, EventRecord, EventStore, NewEvent, StoreError, Tally, ToBook,
    Unbooked,
};

type Connection = <Db as sqlx::Database>::Connection;

/// The states that hold a place, as the `state` column numbers them.
const HOLDING: &str = "(2, 6, 7, 8)";

/// Tells the people `booking` concerns that it reached its state (in the caller's transaction).
async fn notify_booking(
    connection: &mut Connection,
    tenant: TenantId,
    event: &EventRecord,
    booking: &BookingRecord,
    at: i64,
) -> Result<(), StoreError> {
    match NoticeKind::of_booking(booking.state) {
        Some(kind) => notify(connection, tenant, kind, about(event, booking, at)).await,
        None => Ok(()),
    }
}

fn about(event: &EventRecord, booking: &BookingRecord, at: i64) -> About {
    About {
        learner: booking.user,
        course: event.course,
        event: Some(event.id),
        object: booking.id.as_uuid(),
        at,
    }
}

/// A refusal of the kernel's booking rules, naming the state.
fn refused(error: BookingError) -> StoreError {
    StoreError::Refused {
        reason: error.reason(),
        message: error.to_string(),
    }
}

fn missing_event(event: EventId) -> StoreError {
    StoreError::Missing {
        what: "event",
        id: event.to_string(),
    }
}

fn missing_booking(booking: BookingId) -> StoreError {
    StoreError::Missing {
        what: "booking",
        id: booking.to_string(),
    }
}

/// The event, locked until the transaction ends.
async fn locked_event(
    connection: &mut Connection,
    tenant: TenantId,
    event: EventId,
) -> Result<Option<EventRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM events WHERE tenant_id = $1 AND event_id = $2{LOCK_ROWS}"
    )))
    .bind(tenant.as_uuid())
    .bind(event.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(event_from_row)
    .transpose()
}

/// The places taken on `event` (read under its lock).
async fn placement(
    connection: &mut Connection,
    event: &EventRecord,
) -> Result<Placement, StoreError> {
    let taken: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM bookings WHERE event_id = $1 AND state IN {HOLDING}"
    )))
    .bind(event.id.as_uuid())
    .fetch_one(&mut *connection)
    .await?;
    Ok(Placement {
        capacity: event.capacity,
        taken: u32::try_from(taken).unwrap_or(u32::MAX),
        waitlist: event.waitlist,
    })
}

/// The next arrival number on `event` (taken under its lock).
async fn next_arrival(connection: &mut Connection, event: EventId) -> Result<i64, StoreError> {
    let next: i64 = sqlx::query_scalar(
        "UPDATE events SET next_arrival = next_arrival + 1 WHERE event_id = $1 \
         RETURNING next_arrival",
    )
    .bind(event.as_uuid())
    .fetch_one(&mut *connection)
    .await?;
    Ok(next - 1)
}

/// A booking and its event, the event locked: the booking is read again under the lock, so
/// what the rules see stays true until the transaction ends.
async fn locked_booking(
    connection: &mut Connection,
    tenant: TenantId,
    booking: BookingId,
) -> Result<(BookingRecord, EventRecord), StoreError> {
    let event: Uuid = sqlx::query_scalar(
        "SELECT event_id FROM bookings WHERE tenant_id = $1 AND booking_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(booking.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .ok_or_else(|| missing_booking(booking))?;
    let event = locked_event(connection, tenant, EventId::from_uuid(event))
        .await?
        .ok_or_else(|| missing_booking(booking))?;
    let record = sqlx::query("SELECT * FROM bookings WHERE booking_id = $1")
        .bind(booking.as_uuid())
        .fetch_one(&mut *connection)
        .await?;
    Ok((booking_from_row(&record)?, event))
}

/// Writes `record`: a new booking, or the mutable part of a stored one (its state, arrival
/// and times).
async fn write_booking(
    connection: &mut Connection,
    tenant: TenantId,
    record: &BookingRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bookings (tenant_id, booking_id, event_id, user_id, state, booked_by, \
         arrival, requested_at, booked_at, declined_at, waitlisted_at, cancelled_at, \
         attendance_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (booking_id) DO UPDATE SET state = excluded.state, \
         arrival = excluded.arrival, requested_at = excluded.requested_at, \
         booked_at = excluded.booked_at, declined_at = excluded.declined_at, \
         waitlisted_at = excluded.waitlisted_at, cancelled_at = excluded.cancelled_at, \
         attendance_at = excluded.attendance_at",
    )
    .bind(tenant.as_uuid())
    .bind(record.id.as_uuid())
    .bind(record.event.as_uuid())
    .bind(record.user.as_uuid())
    .bind(record.state.code())
    .bind(&record.booked_by)
    .bind(record.arrival)
    .bind(record.times.requested)
    .bind(record.times.booked)
    .bind(record.times.declined)
    .bind(record.times.waitlisted)
    .bind(record.times.cancelled)
    .bind(record.times.attendance)
    .execute(&mut *connection)
    .await?;
    outbox::append(
        &mut *connection,
        tenant,
        &booking_records(std::slice::from_ref(record)),
    )
    .await?;
    Ok(())
}

/// How the bookings of `events` stand, by event.
async fn tallies<'c, E>(executor: E, events: &[Uuid]) -> Result<HashMap<Uuid, Tally>, StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    let mut tallies: HashMap<Uuid, Tally> = HashMap::new();
    if events.is_empty() {
        return Ok(tallies);
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT event_id, state, count(*) AS n FROM bookings WHERE event_id IN (",
    );
    let mut ids = query.separated(", ");
    for id in events {
        ids.push_bind(*id);
    }
    query.push(") AND state IN (1, 2, 4, 6, 7, 8) GROUP BY event_id, state");
    for row in query.build().fetch_all(executor).await? {
        let event: Uuid = row.try_get("event_id")?;
        let state: i16 = row.try_get("state")?;
        let n = u32::try_from(row.try_get::<i64, _>("n")?).unwrap_or(u32::MAX);
        let tally = tallies.entry(event).or_default();
        match BookingState::from_code(state) {
            Some(BookingState::Requested) => tally.requested += n,
            Some(BookingState::Waitlisted) => tally.waitlisted += n,
            Some(state) if state.holds_place() => tally.booked += n,
            _ => return Err(StoreError::Corrupt(format!("booking state {state}"))),
        }
    }
    Ok(tallies)
}

impl EventStore for SqlStore<Db> {
    async fn create_event(
        &self,
        tenant: TenantId,
        event: &EventRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        changeable_course(&mut tx, tenant, event.course).await?;
        // A course with events has a history people may have booked into: deleting it
        // archives it from now on (no booking ever needs the course's lock for that).
        sqlx::query(
            "UPDATE courses SET ever_enrolled = $3 \
             WHERE tenant_id = $1 AND course_id = $2 AND ever_enrolled = $4",
        )
        .bind(tenant.as_uuid())
        .bind(event.course.as_uuid())
        .bind(true)
        .bind(false)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO events (tenant_id, event_id, course_id, title, place, starts_at, \
             ends_at, capacity, requires_approval, waitlist, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tenant.as_uuid())
        .bind(event.id.as_uuid())
        .bind(event.course.as_uuid())
        .bind(&event.title)
        .bind(&event.place)
        .bind(event.starts_at)
        .bind(event.ends_at)
        .bind(i32::try_from(event.capacity).unwrap_or(i32::MAX))
        .bind(event.requires_approval)
        .bind(event.waitlist)
        .bind(event.status.code())
        .bind(&event.created_by)
        .bind(event.created_at)
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().about(event.id).after(event),
        )
        .await?;
        outbox::append(&mut *tx, tenant, events).await?;
        outbox::append(&mut *tx, tenant, &[event_record(event)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn event(
        &self,
        tenant: TenantId,
        event: EventId,
    ) -> Result<Option<(EventRecord, Tally)>, StoreError> {
        let filter = EventFilter {
            only: Some(vec![event]),
            ..Default::default()
        };
        Ok(self.events(tenant, &filter, 1).await?.pop())
    }

    async fn events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<(EventRecord, Tally)>, StoreError> {
        if filter.only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM events WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid());
        if let Some(course) = filter.course {
            query.push(" AND course_id = ").push_bind(course.as_uuid());
        }
        if let Some(after) = filter.after {
            query.push(" AND event_id > ").push_bind(after.as_uuid());
        }
        if let Some(only) = &filter.only {
            query.push(" AND event_id IN (");
            let mut ids = query.separated(", ");
            for id in only {
                ids.push_bind(id.as_uuid());
            }
            query.push(")");
        }
        query.push(" ORDER BY event_id LIMIT ").push_bind(limit);
        let records = query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = records.iter().map(|e| e.id.as_uuid()).collect();
        let tallies = tallies(&self.pool, &ids).await?;
        Ok(records
            .into_iter()
            .map(|event| {
                let tally = tallies
                    .get(&event.id.as_uuid())
                    .copied()
                    .unwrap_or_default();
                (event, tally)
            })
            .collect())
    }

    async fn cancel_event<F>(
        &self,
        tenant: TenantId,
        event: EventId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Option<EventCalledOff>, StoreError>
    where
        F: FnOnce(&EventCalledOff) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let Some(before) = locked_event(&mut tx, tenant, event).await? else {
            return Ok(None);
        };
        // A cancelled event is not called off twice, nor one that has taken place.
        check_bookable(before.status, before.ends_at, at).map_err(refused)?;
        let mut record = before.clone();
        record.status = EventStatus::Cancelled;
        record.cancelled_at = Some(at);
        sqlx::query("UPDATE events SET status = $2, cancelled_at = $3 WHERE event_id = $1")
            .bind(event.as_uuid())
            .bind(record.status.code())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let current = sqlx::query(
            "SELECT * FROM bookings WHERE event_id = $1 AND state IN (1, 2, 4) ORDER BY arrival",
        )
        .bind(event.as_uuid())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(booking_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(
            "UPDATE bookings SET state = $2, cancelled_at = $3 \
             WHERE event_id = $1 AND state IN (1, 2, 4)",
        )
        .bind(event.as_uuid())
        .bind(BookingState::Cancelled.code())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let bookings = current
            .into_iter()
            .map(|mut booking| {
                let was = booking.state;
                booking.moved_to(BookingState::Cancelled, at);
                (booking, was)
            })
            .collect();
        let called_off = EventCalledOff {
            event: record,
            bookings,
        };
        for (booking, _) in &called_off.bookings {
            let about = about(&called_off.event, booking, at);
            notify(&mut tx, tenant, NoticeKind::EventCancelled, about).await?;
        }
        let mut audits = vec![
            audit
                .clone()
                .about(event)
                .before(&before)
                .after(&called_off.event),
        ];
        for (booking, _) in &called_off.bookings {
            let mut cancelled = audit.clone().about(booking.id).after(booking);
            cancelled.action = "booking.cancelled";
            cancelled.object_type = "booking";
            audits.push(cancelled);
        }
        append_audits(&mut tx, tenant, &audits).await?;
        outbox::append(&mut *tx, tenant, &events(&called_off)).await?;
        let bookings: Vec<BookingRecord> = called_off
            .bookings
            .iter()
            .map(|(booking, _)| booking.clone())
            .collect();
        let records: Vec<NewEvent> = std::iter::once(event_record(&called_off.event))
            .chain(booking_records(&bookings))
            .collect();
        outbox::append(&mut *tx, tenant, &records).await?;
        tx.commit().await?;
        Ok(Some(called_off))
    }

    async fn book<F>(
        &self,
        tenant: TenantId,
        what: ToBook<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Booked, StoreError>
    where
        F: FnOnce(&EventRecord, &BookingRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let event = locked_event(&mut tx, tenant, what.event)
            .await?
            .ok_or_else(|| missing_event(what.event))?;
        // Someone booked already keeps their booking, whatever the event has become since.
        let current = sqlx::query(
            "SELECT * FROM bookings WHERE event_id = $1 AND user_id = $2 AND state NOT IN (3, 5)",
        )
        .bind(what.event.as_uuid())
        .bind(what.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(current) = current {
            return Ok(Booked {
                booking: booking_from_row(&current)?,
                created: false,
            });
        }
        check_bookable(event.status, event.ends_at, what.at).map_err(refused)?;
        let course: i16 = sqlx::query_scalar("SELECT status FROM courses WHERE course_id = $1")
            .bind(event.course.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        if course_status(course)? == CourseStatus::Archived {
            return Err(StoreError::Refused {
                reason: "ARCHIVED",
                message: "the event's course is archived".into(),
            });
        }
        let state = on_booking(event.requires_approval, placement(&mut tx, &event).await?)
            .map_err(refused)?;
        let mut record = BookingRecord {
            id: BookingId::generate(),
            event: what.event,
            user: what.user,
            state,
            booked_by: what.by.to_owned(),
            arrival: next_arrival(&mut tx, what.event).await?,
            times: Default::default(),
        };
        record.moved_to(state, what.at);
        write_booking(&mut tx, tenant, &record).await?;
        notify_booking(&mut tx, tenant, &event, &record, what.at).await?;
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().about(record.id).after(&record),
        )
        .await?;
        outbox::append(&mut *tx, tenant, &events(&event, &record)).await?;
        tx.commit().await?;
        Ok(Booked {
            booking: record,
            created: true,
        })
    }

    async fn booking(
        &self,
        tenant: TenantId,
        booking: BookingId,
    ) -> Result<Option<(BookingRecord, EventRecord)>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM bookings WHERE tenant_id = $1 AND booking_id = $2")
                .bind(tenant.as_uuid())
                .bind(booking.as_uuid())
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let record = booking_from_row(&row)?;
        let event = sqlx::query("SELECT * FROM events WHERE event_id = $1")
            .bind(record.event.as_uuid())
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((record, event_from_row(&event)?)))
    }

    async fn decide_booking<F>(
        &self,
        tenant: TenantId,
        booking: BookingId,
        approve: bool,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<BookingRecord, StoreError>
    where
        F: FnOnce(&EventRecord, &BookingRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let (before, event) = locked_booking(&mut tx, tenant, booking).await?;
        check_bookable(event.status, event.ends_at, at).map_err(refused)?;
        let to = booking::decide(before.state, approve, placement(&mut tx, &event).await?)
            .map_err(refused)?;
        let mut record = before.clone();
        if to == BookingState::Waitlisted {
            // Approved into a full event: it joins the back of the waitlist.
            record.arrival = next_arrival(&mut tx, event.id).await?;
        }
        record.moved_to(to, at);
        write_booking(&mut tx, tenant, &record).await?;
        notify_booking(&mut tx, tenant, &event, &record, at).await?;
        let audit = audit.clone().about(booking).before(&before).after(&record);
        append_audit(&mut *tx, tenant, &audit).await?;
        outbox::append(&mut *tx, tenant, &events(&event, &record)).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn cancel_booking<F>(
        &self,
        tenant: TenantId,
        booking: BookingId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Unbooked, StoreError>
    where
        F: FnOnce(&EventRecord, &Unbooked) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let (before, event) = locked_booking(&mut tx, tenant, booking).await?;
        booking::cancel(before.state, event.ends_at, at).map_err(refused)?;
        let mut record = before.clone();
        record.moved_to(BookingState::Cancelled, at);
        write_booking(&mut tx, tenant, &record).await?;
        notify_booking(&mut tx, tenant, &event, &record, at).await?;
        let mut audits = vec![audit.clone().about(booking).before(&before).after(&record)];
        let mut promoted = None;
        if before.state.holds_place() && event.status == EventStatus::Scheduled {
            let first = sqlx::query(
                "SELECT * FROM bookings WHERE event_id = $1 AND state = $2 \
                 ORDER BY arrival LIMIT 1",
            )
            .bind(event.id.as_uuid())
            .bind(BookingState::Waitlisted.code())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(first) = first
                && placement(&mut tx, &event).await?.has_free_place()
            {
                let waiting = booking_from_row(&first)?;
                let mut next = waiting.clone();
                next.moved_to(BookingState::Booked, at);
                write_booking(&mut tx, tenant, &next).await?;
                notify_booking(&mut tx, tenant, &event, &next, at).await?;
                let mut promotion = audit.clone().about(next.id).before(&waiting).after(&next);
                promotion.action = "booking.promoted";
                audits.push(promotion);
                promoted = Some(next);
            }
        }
        for audit in &audits {
            append_audit(&mut *tx, tenant, audit).await?;
        }
        let unbooked = Unbooked {
            booking: record,
            was: before.state,
            promoted,
        };
        outbox::append(&mut *tx, tenant, &events(&event, &unbooked)).await?;
        tx.commit().await?;
        Ok(unbooked)
    }

    async fn mark_attendance(
        &self,
        tenant: TenantId,
        booking: BookingId,
        attendance: Attendance,
        now: i64,
        audit: &Audit,
    ) -> Result<BookingRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let (before, event) = locked_booking(&mut tx, tenant, booking).await?;
        let to = booking::mark(before.state, attendance, event.starts_at, now).map_err(refused)?;
        let mut record = before.clone();
        record.moved_to(to, now);
        write_booking(&mut tx, tenant, &record).await?;
        let audit = audit.clone().about(booking).before(&before).after(&record);
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn bookings(
        &self,
        tenant: TenantId,
        filter: &BookingFilter,
        limit: i64,
    ) -> Result<Vec<BookingRecord>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM bookings WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid());
        if let Some(event) = filter.event {
            query.push(" AND event_id = ").push_bind(event.as_uuid());
        }
        if let Some(user) = filter.user {
            query.push(" AND user_id = ").push_bind(user.as_uuid());
        }
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.code());
        }
        match filter.after {
            Some(BookingCursor::Arrival(arrival)) => {
                query.push(" AND arrival > ").push_bind(arrival);
            }
            Some(BookingCursor::Before(id)) => {
                query.push(" AND booking_id < ").push_bind(id.as_uuid());
            }
            None => {}
        }
        if filter.event.is_some() {
            query.push(" ORDER BY arrival");
        } else {
            query.push(" ORDER BY booking_id DESC");
        }
        query.push(" LIMIT ").push_bind(limit);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(booking_from_row)
            .collect()
    }

    async fn sign_off<F>(
        &self,
        tenant: TenantId,
        check: &CompetencyRecord,
        events: F,
        audit: &Audit,
    ) -> Result<(CompetencyRecord, bool), StoreError>
    where
        F: FnOnce(&CompetencyRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let enrolled: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM enrolments WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3 \
             AND state IN (1, 2, 3) LIMIT 1",
        )
        .bind(tenant.as_uuid())
        .bind(check.course.as_uuid())
        .bind(check.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if enrolled.is_none() {
            return Err(StoreError::Refused {
                reason: "NOT_ENROLLED",
                message: "the learner is not enrolled on the course".into(),
            });
        }
        let inserted = sqlx::query(
            "INSERT INTO competency_checks (tenant_id, check_id, course_id, user_id, note, \
             signed_off_by, signed_off_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (course_id, user_id) DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(check.id.as_uuid())
        .bind(check.course.as_uuid())
        .bind(check.user.as_uuid())
        .bind(&check.note)
        .bind(&check.signed_off_by)
        .bind(check.signed_off_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            let first = sqlx::query(
                "SELECT * FROM competency_checks WHERE course_id = $1 AND user_id = $2",
            )
            .bind(check.course.as_uuid())
            .bind(check.user.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
            return Ok((competency_from_row(&first)?, false));
        }
        let about = About {
            learner: check.user,
            course: check.course,
            event: None,
            object: check.id.as_uuid(),
            at: check.signed_off_at,
        };
        notify(&mut tx, tenant, NoticeKind::CompetencySignedOff, about).await?;
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().about(check.id).after(check),
        )
        .await?;
        outbox::append(&mut *tx, tenant, &events(check)).await?;
        outbox::append(&mut *tx, tenant, &[competency_record(check)]).await?;
        tx.commit().await?;
        Ok((check.clone(), true))
    }

    async fn competency_checks(
        &self,
        tenant: TenantId,
        filter: &CompetencyFilter,
        limit: i64,
    ) -> Result<Vec<CompetencyRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM competency_checks WHERE tenant_id = $1 \
             AND ($2 IS NULL OR course_id = $2) AND ($3 IS NULL OR user_id = $3) \
             AND ($4 IS NULL OR check_id > $4) ORDER BY check_id LIMIT $5",
        )
        .bind(tenant.as_uuid())
        .bind(filter.course.map(|c| c.as_uuid()))
        .bind(filter.user.map(|u| u.as_uuid()))
        .bind(filter.after.map(|c| c.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(competency_from_row)
        .collect()
    }
}
