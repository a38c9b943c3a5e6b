//! Enrolments, enrolment requests and the content player's attempts.
//!
//! Every write takes its course's lock first (as lessons and responsibilities do), so writes on
//! one course's enrolments are serialised and a course is never archived or erased beneath one;
//! the partial unique index on open enrolments is the guard behind it. The rules are the
//! kernel's: the store reads what they need, asks them, and writes what they answer.

use crate::records::{enrolment_records, request_record};
use std::collections::HashSet;

use lms_kernel::enrolment::{admit, current, decide_request};
use lms_kernel::{
    Admission, CourseId, EnrolmentRequestId, EnrolmentState, Progress, ProgressEffect,
    RequestState, TenantId, TransitionError, UserId,
};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use uuid::Uuid;

use super::audit::{append_audit, append_audits};
use super::courses::{archived, locked_course};
use super::grants::takeable_in;
use super::notifications::notify;
use super::rows::{enrolment_from_row, request_from_row};
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::notices::{About, NoticeKind};
use crate::store::enrolments::{enrolment_state, stored_score};
use crate::store::sql::{SqlStore, course_status};
use crate::store::{
    Asked, EnrolmentFilter, EnrolmentRecord, EnrolmentStore, Made, NewEvent, Recorded, Report,
    RequestRecord, StoreError, Takeable, ToEnrol, Verdict, Withdrawn,
};

type Connection = <Db as sqlx::Database>::Connection;

/// A refusal of the kernel's state machines, naming the state.
fn state_refused(error: TransitionError) -> StoreError {
    StoreError::Refused {
        reason: error.reason,
        message: error.to_string(),
    }
}

/// `user`'s enrolments on `course`, in the order they were made.
async fn enrolments_of(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    user: UserId,
) -> Result<Vec<EnrolmentRecord>, StoreError> {
    sqlx::query(
        "SELECT * FROM enrolments WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3 \
         ORDER BY enrolment_id",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .bind(user.as_uuid())
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(enrolment_from_row)
    .collect()
}

/// The learners with an open enrolment on `course` (read under the course's lock, so it stays
/// true until the transaction ends).
async fn open_on(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<HashSet<UserId>, StoreError> {
    let rows: Vec<(Uuid, i16)> = sqlx::query_as(
        "SELECT user_id, state FROM enrolments WHERE tenant_id = $1 AND course_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .fetch_all(&mut *connection)
    .await?;
    let mut open = HashSet::new();
    for (user, state) in rows {
        if enrolment_state(state)?.is_open() {
            open.insert(UserId::from_uuid(user));
        }
    }
    Ok(open)
}

/// Inserts `records`, skipping each learner who has an open enrolment on the course already
/// (the partial unique index answers that, under any concurrency); answers those inserted.
async fn insert_enrolments(
    connection: &mut Connection,
    tenant: TenantId,
    records: &[EnrolmentRecord],
) -> Result<Made, StoreError> {
    let inserted: HashSet<Uuid> = super::bulk::insert_enrolments(connection, tenant, records)
        .await?
        .into_iter()
        .collect();
    let made: Made = records
        .iter()
        .filter(|record| inserted.contains(&record.id.as_uuid()))
        .cloned()
        .collect();
    outbox::append(&mut *connection, tenant, &enrolment_records(&made)).await?;
    Ok(made)
}

/// Someone enrolled on `course`: deleting it archives from now on. By its id alone: a client
/// tenant's learner on a granted course marks the master's course.
async fn mark_ever_enrolled(
    connection: &mut Connection,
    course: CourseId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE courses SET ever_enrolled = $2 WHERE course_id = $1 AND ever_enrolled = $3",
    )
    .bind(course.as_uuid())
    .bind(true)
    .bind(false)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The course `course`, locked: `tenant`'s own, or another's (a granted one, in effect or
/// ended) that `tenant`'s people are enrolled on. It must be so (`Missing`: nothing is told of
/// other tenants' courses) and active (`ARCHIVED`).
async fn course_enrolled_on(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<(), StoreError> {
    let status: Option<i16> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM courses WHERE course_id = $2 AND (tenant_id = $1 OR EXISTS \
         (SELECT 1 FROM enrolments WHERE tenant_id = $1 AND course_id = $2)){LOCK_ROWS}"
    )))
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .fetch_optional(&mut *connection)
    .await?;
    let status = status.ok_or_else(|| StoreError::Missing {
        what: "course",
        id: course.to_string(),
    })?;
    lms_kernel::course::check_changeable(course_status(status)?).map_err(archived)
}

/// The course `tenant`'s people take, locked: one of its own, or one granted to it and in
/// effect at `now`; it must exist (`Missing`) and be active (`ARCHIVED`).
async fn course_taken(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    now: i64,
) -> Result<Takeable, StoreError> {
    let taken = takeable_in(connection, tenant, course, now, true)
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "course",
            id: course.to_string(),
        })?;
    lms_kernel::course::check_changeable(taken.course.status).map_err(archived)?;
    Ok(taken)
}

/// Enrols `records` (already checked against the course) and writes what goes with them: the
/// course's mark, one audit record each, and the events built from those made.
pub(super) async fn enrol_in<F>(
    connection: &mut Connection,
    tenant: TenantId,
    records: &[EnrolmentRecord],
    events: F,
    audit: &Audit,
) -> Result<Made, StoreError>
where
    F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent>,
{
    let made = insert_enrolments(connection, tenant, records).await?;
    if let Some(first) = made.first() {
        mark_ever_enrolled(connection, first.course).await?;
    }
    let audits: Vec<_> = made
        .iter()
        .map(|record| audit.clone().about(record.id).after(record))
        .collect();
    append_audits(connection, tenant, &audits).await?;
    outbox::append(&mut *connection, tenant, &events(&made)).await?;
    Ok(made)
}

/// Writes the mutable part of an enrolment (its state, times and score), and tells reporting.
async fn save_enrolment(
    connection: &mut Connection,
    tenant: TenantId,
    record: &EnrolmentRecord,
) -> Result<(), StoreError> {
    let e = &record.enrolment;
    sqlx::query(
        "UPDATE enrolments SET state = $2, started_at = $3, completed_at = $4, \
         withdrawn_at = $5, score = $6 WHERE enrolment_id = $1",
    )
    .bind(record.id.as_uuid())
    .bind(e.state.code())
    .bind(e.started_at)
    .bind(e.completed_at)
    .bind(e.withdrawn_at)
    .bind(stored_score(e.score))
    .execute(&mut *connection)
    .await?;
    outbox::append(
        &mut *connection,
        tenant,
        &enrolment_records(std::slice::from_ref(record)),
    )
    .await?;
    Ok(())
}

async fn request_in(
    connection: &mut Connection,
    tenant: TenantId,
    request: EnrolmentRequestId,
    lock: &str,
) -> Result<Option<RequestRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM enrolment_requests WHERE tenant_id = $1 AND request_id = $2{lock}"
    )))
    .bind(tenant.as_uuid())
    .bind(request.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(request_from_row)
    .transpose()
}

/// The waiting request of `user` on `course`, if any.
async fn waiting_request(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    user: UserId,
) -> Result<Option<RequestRecord>, StoreError> {
    sqlx::query(
        "SELECT * FROM enrolment_requests WHERE tenant_id = $1 AND course_id = $2 \
         AND user_id = $3 AND state = $4",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .bind(user.as_uuid())
    .bind(RequestState::Requested.code())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(request_from_row)
    .transpose()
}

/// How a report is kept against its attempt: the furthest seen.
const fn reported(progress: Progress) -> i16 {
    match progress {
        Progress::Started => 1,
        Progress::Completed { .. } => 2,
    }
}

/// The enrolment a report is about: the one its attempt was bound to, or (a new attempt) the
/// learner's current one, to which the attempt is bound now.
async fn reported_enrolment(
    connection: &mut Connection,
    tenant: TenantId,
    report: &Report<'_>,
) -> Result<EnrolmentRecord, StoreError> {
    let bound: Option<Uuid> = sqlx::query_scalar(
        "SELECT enrolment_id FROM progress_attempts WHERE tenant_id = $1 AND attempt_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(report.attempt)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(enrolment) = bound {
        let record = sqlx::query("SELECT * FROM enrolments WHERE enrolment_id = $1")
            .bind(enrolment)
            .fetch_one(&mut *connection)
            .await
            .map_err(StoreError::from)
            .and_then(|row| enrolment_from_row(&row))?;
        if (record.course, record.user) != (report.course, report.user) {
            return Err(StoreError::Invalid {
                field: "attempt_id",
                message: "names an attempt of another learner or course".into(),
            });
        }
        return Ok(record);
    }
    let mut history = enrolments_of(connection, tenant, report.course, report.user).await?;
    let states: Vec<_> = history.iter().map(|r| r.enrolment).collect();
    let Some(index) = current(&states) else {
        return Err(StoreError::Missing {
            what: "enrolment",
            id: format!("of user {} on course {}", report.user, report.course),
        });
    };
    let record = history.swap_remove(index);
    sqlx::query(
        "INSERT INTO progress_attempts (tenant_id, attempt_id, enrolment_id, reported, \
         first_at, last_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(tenant.as_uuid())
    .bind(report.attempt)
    .bind(record.id.as_uuid())
    .bind(reported(report.progress))
    .bind(report.at)
    .execute(&mut *connection)
    .await?;
    Ok(record)
}

impl EnrolmentStore for SqlStore<Db> {
    async fn enrol<F>(
        &self,
        tenant: TenantId,
        what: ToEnrol<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Made, StoreError>
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        course_taken(&mut tx, tenant, what.course, what.at).await?;
        // Who is enrolled already is left out before inserting: a deployment run again costs
        // one read, not thousands of inserts that conflict.
        let open = open_on(&mut tx, tenant, what.course).await?;
        let records: Vec<_> = what
            .users
            .iter()
            .filter(|user| !open.contains(user))
            .map(|user| EnrolmentRecord::new(what.course, *user, what.by, what.at))
            .collect();
        let made = enrol_in(&mut tx, tenant, &records, events, audit).await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn withdraw<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Option<Withdrawn>, StoreError>
    where
        F: FnOnce(&Withdrawn) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        // Whosever the course is: a client's learner withdraws from a granted course after
        // its grant ended too (their enrolment is their tenant's).
        course_enrolled_on(&mut tx, tenant, course).await?;
        let mut history = enrolments_of(&mut tx, tenant, course, user).await?;
        let states: Vec<_> = history.iter().map(|r| r.enrolment).collect();
        let Some(index) = current(&states) else {
            return Ok(None);
        };
        let before = history.swap_remove(index);
        let mut after = before.clone();
        after.enrolment.withdraw(at).map_err(state_refused)?;
        save_enrolment(&mut tx, tenant, &after).await?;
        let withdrawn = Withdrawn {
            still_enrolled: history
                .iter()
                .any(|other| other.enrolment.state.counts_as_enrolled()),
            enrolment: after,
        };
        let audit = audit
            .clone()
            .about(before.id)
            .before(&before)
            .after(&withdrawn.enrolment);
        append_audit(&mut *tx, tenant, &audit).await?;
        outbox::append(&mut *tx, tenant, &events(&withdrawn)).await?;
        tx.commit().await?;
        Ok(Some(withdrawn))
    }

    async fn enrolments(
        &self,
        tenant: TenantId,
        filter: EnrolmentFilter,
        limit: i64,
    ) -> Result<Vec<EnrolmentRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM enrolments WHERE tenant_id = $1 \
             AND ($2 IS NULL OR course_id = $2) AND ($3 IS NULL OR user_id = $3) \
             AND ($4 IS NULL OR enrolment_id > $4) ORDER BY enrolment_id LIMIT $5",
        )
        .bind(tenant.as_uuid())
        .bind(filter.course.map(|c| c.as_uuid()))
        .bind(filter.user.map(|u| u.as_uuid()))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(enrolment_from_row)
        .collect()
    }

    async fn ask_to_join<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Asked, StoreError>
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let taken = course_taken(&mut tx, tenant, course, at).await?;
        // A granted course is taken at once: the grant is the master's approval, and nobody in
        // the client tenant could decide a request on the master's course.
        let requires_approval = taken.course.requires_approval && taken.granted.is_none();
        let open = enrolments_of(&mut tx, tenant, course, user)
            .await?
            .into_iter()
            .map(|r| r.enrolment.state)
            .find(|state| state.is_open());
        let admission = admit(requires_approval, open).map_err(|refused| StoreError::Refused {
            reason: refused.code(),
            message: refused.to_string(),
        })?;
        let asked = match admission {
            Admission::Enrolled => {
                let enrolment = EnrolmentRecord::new(course, user, &user.to_string(), at);
                let made = enrol_in(&mut tx, tenant, &[enrolment], events, audit).await?;
                let enrolment = made.into_iter().next().ok_or_else(|| {
                    StoreError::Corrupt("an enrolment checked absent was present".into())
                })?;
                Asked::Enrolled(enrolment)
            }
            Admission::Requested => {
                if let Some(waiting) = waiting_request(&mut tx, tenant, course, user).await? {
                    return Ok(Asked::Requested(waiting));
                }
                let request = RequestRecord {
                    id: EnrolmentRequestId::generate(),
                    course,
                    user,
                    state: RequestState::Requested,
                    requested_at: at,
                    decided_at: None,
                    decided_by: None,
                };
                sqlx::query(
                    "INSERT INTO enrolment_requests (tenant_id, request_id, course_id, user_id, \
                     state, requested_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.as_uuid())
                .bind(request.id.as_uuid())
                .bind(course.as_uuid())
                .bind(user.as_uuid())
                .bind(request.state.code())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let about = About {
                    learner: user,
                    course,
                    event: None,
                    object: request.id.as_uuid(),
                    at,
                };
                notify(&mut tx, tenant, NoticeKind::EnrolmentRequested, about).await?;
                outbox::append(&mut *tx, tenant, &[request_record(&request)]).await?;
                let audit = audit
                    .clone()
                    .about(request.id)
                    .named("enrolment.requested", "enrolment_request")
                    .after(&request);
                append_audit(&mut *tx, tenant, &audit).await?;
                Asked::Requested(request)
            }
        };
        tx.commit().await?;
        Ok(asked)
    }

    async fn enrolment_request(
        &self,
        tenant: TenantId,
        request: EnrolmentRequestId,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        request_in(&mut connection, tenant, request, "").await
    }

    async fn enrolment_requests(
        &self,
        tenant: TenantId,
        filter: EnrolmentFilter,
        limit: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM enrolment_requests WHERE tenant_id = $1 \
             AND ($2 IS NULL OR course_id = $2) AND ($3 IS NULL OR user_id = $3) \
             AND ($4 IS NULL OR state = $4) AND ($5 IS NULL OR request_id > $5) \
             ORDER BY request_id LIMIT $6",
        )
        .bind(tenant.as_uuid())
        .bind(filter.course.map(|c| c.as_uuid()))
        .bind(filter.user.map(|u| u.as_uuid()))
        .bind(filter.request_state.map(RequestState::code))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(request_from_row)
        .collect()
    }

    async fn decide_request<F>(
        &self,
        tenant: TenantId,
        verdict: Verdict<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Option<(RequestRecord, Option<EnrolmentRecord>)>, StoreError>
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send,
    {
        let Verdict {
            request,
            approve,
            by: decided_by,
            at,
        } = verdict;
        let mut tx = begin_write(&self.pool).await?;
        // The course's lock before the request's, in the order every enrolment write takes them.
        let Some(asked) = request_in(&mut tx, tenant, request, "").await? else {
            return Ok(None);
        };
        let course = locked_course(&mut tx, tenant, asked.course)
            .await?
            .ok_or_else(|| StoreError::Missing {
                what: "course",
                id: asked.course.to_string(),
            })?;
        let Some(before) = request_in(&mut tx, tenant, request, LOCK_ROWS).await? else {
            return Ok(None);
        };
        let state = decide_request(before.state, approve).map_err(state_refused)?;
        let mut made = Vec::new();
        if state == RequestState::Approved {
            lms_kernel::course::check_changeable(course.status).map_err(|error| {
                StoreError::Refused {
                    reason: "ARCHIVED",
                    message: error.to_string(),
                }
            })?;
            let open = enrolments_of(&mut tx, tenant, before.course, before.user)
                .await?
                .iter()
                .any(|r| r.enrolment.state.is_open());
            if !open {
                let enrolment = EnrolmentRecord::new(before.course, before.user, decided_by, at);
                made = insert_enrolments(&mut tx, tenant, &[enrolment]).await?;
                mark_ever_enrolled(&mut tx, before.course).await?;
            }
        }
        let after = RequestRecord {
            state,
            decided_at: Some(at),
            decided_by: Some(decided_by.to_owned()),
            ..before.clone()
        };
        sqlx::query(
            "UPDATE enrolment_requests SET state = $2, decided_at = $3, decided_by = $4 \
             WHERE request_id = $1",
        )
        .bind(request.as_uuid())
        .bind(state.code())
        .bind(at)
        .bind(decided_by)
        .execute(&mut *tx)
        .await?;
        let mut audits = vec![audit.clone().about(request).before(&before).after(&after)];
        audits.extend(made.iter().map(|record| {
            audit
                .clone()
                .about(record.id)
                .named("enrolment.enrolled", "enrolment")
                .after(record)
        }));
        append_audits(&mut tx, tenant, &audits).await?;
        outbox::append(&mut *tx, tenant, &events(&made)).await?;
        outbox::append(&mut *tx, tenant, &[request_record(&after)]).await?;
        tx.commit().await?;
        Ok(Some((after, made.into_iter().next())))
    }

    async fn record_progress(
        &self,
        tenant: TenantId,
        report: Report<'_>,
        audit: &Audit,
    ) -> Result<Recorded, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        course_taken(&mut tx, tenant, report.course, report.at).await?;
        let before = reported_enrolment(&mut tx, tenant, &report).await?;
        let mut after = before.clone();
        let effect = after
            .enrolment
            .record(report.progress, report.at)
            .map_err(state_refused)?;
        if let ProgressEffect::Moves(state) = effect {
            save_enrolment(&mut tx, tenant, &after).await?;
            let action = match state {
                EnrolmentState::Completed => "enrolment.completed",
                _ => "enrolment.started",
            };
            let audit = audit
                .clone()
                .about(after.id)
                .named(action, "enrolment")
                .before(&before)
                .after(&after);
            append_audit(&mut *tx, tenant, &audit).await?;
        }
        sqlx::query(
            "UPDATE progress_attempts SET reported = CASE WHEN reported < $3 THEN $3 \
             ELSE reported END, last_at = $4 WHERE tenant_id = $1 AND attempt_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(report.attempt)
        .bind(reported(report.progress))
        .bind(report.at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Recorded {
            enrolment: after,
            effect,
        })
    }
}
