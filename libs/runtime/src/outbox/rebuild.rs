//! An owner re-sending every record it holds of a tenant, so reporting can rebuild projections
//! that missed changes (`lms reporting rebuild`: a stream trimmed past entries reporting never
//! read, a projection restored from an old backup).
//!
//! The records go through the owner's outbox like any change, between two marks
//! (`reporting.rebuild`): [`begin`] appends the first and answers its sequence; the owner then
//! appends its records in chunks, each chunk read and appended in one write transaction that
//! holds the tenant's order lock from its start ([`super::AppendEvents::hold_order`]), so a chunk
//! is never older than a change committed before it and never newer than one committed after
//! it; [`finish`] appends the second mark naming the first's sequence and the topics re-sent.
//! Reporting, on the second mark, drops every row of those topics older than the first: the
//! owner no longer holds it. Live changes go on meanwhile and keep their order.

use std::future::Future;

use lms_api::authorization::v1::{RelationshipUpdate, SubjectStatus, WriteRelationshipsRequest};
use lms_api::reporting::v1::RebuildMark;
use lms_kernel::TenantId;
use prost::Message;
use uuid::Uuid;

use super::{NewEvent, RECORDS_PER_EVENT, append, topic};
use crate::store::Database;
use crate::transaction::begin_write;

fn mark(mark: RebuildMark) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        topic: topic::REBUILD,
        payload: mark.encode_to_vec(),
    }
}

/// Appends the mark before a tenant's records and answers its sequence.
pub async fn begin(database: &Database, tenant: TenantId) -> Result<i64, sqlx::Error> {
    let event = mark(RebuildMark::default());
    macro_rules! begin_on {
        ($pool:expr) => {{
            let mut tx = begin_write($pool).await?;
            append(&mut *tx, tenant, std::slice::from_ref(&event)).await?;
            let sequence: i64 =
                sqlx::query_scalar("SELECT sequence FROM outbox WHERE event_id = $1")
                    .bind(event.event_id)
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            sequence
        }};
    }
    Ok(match database {
        Database::Postgres(pool) => begin_on!(pool),
        Database::Sqlite(pool) => begin_on!(pool),
    })
}

/// Appends the mark after a tenant's records: every record of `topics` was sent after the mark
/// at `started` (what [`begin`] answered).
pub async fn finish(
    database: &Database,
    tenant: TenantId,
    started: i64,
    topics: &[&str],
) -> Result<(), sqlx::Error> {
    let event = mark(RebuildMark {
        finished: true,
        started_sequence: started,
        topics: topics.iter().map(|&t| t.to_owned()).collect(),
    });
    super::commit_alone(database, tenant, &[event]).await
}

/// Facts as they hold, re-sent for reporting alone (`reporting.facts`): at most a thousand
/// updates and a thousand statuses an event; none for none.
pub fn resent_facts(
    updates: Vec<RelationshipUpdate>,
    statuses: Vec<SubjectStatus>,
) -> Vec<NewEvent> {
    let events = updates
        .len()
        .max(statuses.len())
        .div_ceil(RECORDS_PER_EVENT);
    let (mut updates, mut statuses) = (updates.into_iter(), statuses.into_iter());
    (0..events)
        .map(|_| NewEvent {
            event_id: Uuid::now_v7(),
            topic: topic::FACTS_RESENT,
            payload: WriteRelationshipsRequest {
                event_id: String::new(),
                updates: updates.by_ref().take(RECORDS_PER_EVENT).collect(),
                tenant_facts: None,
                statuses: statuses.by_ref().take(RECORDS_PER_EVENT).collect(),
            }
            .encode_to_vec(),
        })
        .collect()
}

/// Appends every chunk of one kind of row: `send(after)` appends the rows after an id, at most
/// `chunk`, in one transaction (see the module docs) and answers how many and the last id;
/// called until a chunk comes back short. Answers how many rows were sent.
pub async fn send_all<E, F, Fut>(chunk: i64, mut send: F) -> Result<usize, E>
where
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: Future<Output = Result<(usize, Option<Uuid>), E>>,
{
    let (mut sent, mut after) = (0, None);
    loop {
        let (count, last) = send(after).await?;
        sent += count;
        match last {
            Some(last) if count as i64 == chunk => after = Some(last),
            _ => return Ok(sent),
        }
    }
}
