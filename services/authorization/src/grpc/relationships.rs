//! `RelationshipService`: the facts identity and delegation own, pushed here in batches that
//! apply atomically and once per event id. Only services write them, with a token issued for
//! the tenant the facts belong to.

use std::sync::Arc;

use lms_api::authorization::v1::relationship_service_server::RelationshipService;
use lms_api::authorization::v1::{
    Operation, ReadRelationshipsRequest, ReadRelationshipsResponse, Relation,
    WriteRelationshipsBatchRequest, WriteRelationshipsBatchResponse, WriteRelationshipsRequest,
    WriteRelationshipsResponse,
};
use lms_api::common::v1::ObjectType;
use lms_kernel::{TenantId, TenantSettings, UserId, check_responsibility};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, Scope, require_scope, tenant_service};
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use lms_runtime::paging::page_size;

use super::caller;
use crate::cache::CacheKey;
use crate::convert;
use crate::core::Core;
use crate::error::responsibility_refusal;
use crate::facts::subject_facts;
use crate::store::{Applied, Change, FactBatch, RelationshipFilter, Store, SubjectStatus};

pub struct Relationships<S>(pub Arc<Core<S>>);

/// The scope that writes and reads a relation: every fact has one owner (DESIGN §2), and a
/// service may touch only what its owner's scope covers, so a leaked delegation token cannot
/// make someone a group's manager and identity's cannot make anyone a course tutor.
fn owner_scope(relation: i16) -> Scope {
    match Relation::try_from(i32::from(relation)) {
        Ok(
            Relation::ParentUnit
            | Relation::Employee
            | Relation::MainAccount
            | Relation::PrimaryMember
            | Relation::Member
            | Relation::Manager
            | Relation::Administrator
            | Relation::Client
            | Relation::NamedManager
            | Relation::UnitOfTenant
            | Relation::AccessCoordinator,
        ) => Scope::PeopleFacts,
        Ok(
            Relation::CourseTutor
            | Relation::CourseAdministrator
            | Relation::EventAdministrator
            | Relation::ParentCourse
            | Relation::Invitee
            | Relation::Enrolled
            | Relation::Offered
            | Relation::Booked
            | Relation::OwningUnit
            | Relation::GrantedBy,
        ) => Scope::CourseFacts,
        // Validated before this is asked; owning nothing, it needs a scope nobody is given.
        Ok(Relation::Unspecified) | Err(_) => Scope::Operator,
    }
}

/// Refuses a batch that touches what the caller's scopes do not own, naming the first item.
fn require_owned(caller: &Caller, batch: &FactBatch) -> Result<(), ApiError> {
    if batch.settings.is_some() || !batch.statuses.is_empty() {
        require_scope(caller, Scope::PeopleFacts)?;
    }
    for change in &batch.changes {
        let (Change::Touch(r) | Change::Delete(r)) = change;
        require_scope(caller, owner_scope(r.relation))?;
    }
    Ok(())
}

/// The cached facts a batch changes: both ends of every relationship (a user's subject facts
/// and resource facts, a lesson's course, a course's unit), each user whose status changed;
/// tenant-wide for settings, client links and the unit tree (ancestry is read through them).
fn affected(tenant: TenantId, batch: &FactBatch) -> (Vec<CacheKey>, bool) {
    let user = ObjectType::User as i16;
    let mut keys = Vec::new();
    let mut tenant_wide = batch.settings.is_some();
    for change in &batch.changes {
        let (Change::Touch(r) | Change::Delete(r)) = change;
        // A content grant is read with every subject of the client tenant.
        if [Relation::ParentUnit, Relation::Client, Relation::GrantedBy]
            .iter()
            .any(|wide| r.relation == *wide as i16)
        {
            tenant_wide = true;
        }
        for (kind, id) in [
            (r.resource_type, r.resource_id),
            (r.subject_type, r.subject_id),
        ] {
            keys.push(CacheKey::resource(tenant, kind, id));
            if kind == user {
                keys.push(CacheKey::subject(tenant, UserId::from_uuid(id)));
            }
        }
    }
    for status in &batch.statuses {
        keys.push(CacheKey::subject(tenant, status.user));
        keys.push(CacheKey::resource(tenant, user, status.user.as_uuid()));
    }
    keys.sort();
    keys.dedup();
    (keys, tenant_wide)
}

/// Events one WriteRelationshipsBatch applies at most.
const MAX_BATCHED_EVENTS: usize = 100;

/// The batch `r` asks to apply, each field named after `prefix` when refused, once the caller's
/// scopes own everything it touches.
fn fact_batch(
    caller: &Caller,
    tenant: TenantId,
    r: &WriteRelationshipsRequest,
    prefix: &str,
) -> Result<FactBatch, ApiError> {
    let event_id = Uuid::try_parse(&r.event_id)
        .ok()
        .filter(|id| !id.is_nil())
        .ok_or_else(|| ApiError::invalid_field(format!("{prefix}event_id"), "must be a UUID"))?;
    let changes = r
        .updates
        .iter()
        .enumerate()
        .map(|(i, update)| {
            let fact = convert::relationship(
                &format!("{prefix}updates[{i}].relationship"),
                update.relationship.as_ref(),
                tenant,
            )?;
            match Operation::try_from(update.operation) {
                Ok(Operation::Touch) => Ok(Change::Touch(fact)),
                Ok(Operation::Delete) => Ok(Change::Delete(fact)),
                _ => Err(ApiError::invalid_field(
                    format!("{prefix}updates[{i}].operation"),
                    "must be TOUCH or DELETE",
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let statuses = r
        .statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(SubjectStatus {
                user: convert::id(
                    &format!("{prefix}statuses[{i}].user_id"),
                    &s.user_id,
                    UserId::parse,
                )?,
                status: convert::user_status(&format!("{prefix}statuses[{i}].status"), s.status)?,
                restrict_bookings: s.restrict_bookings,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let batch = FactBatch {
        event_id,
        changes,
        settings: r.tenant_facts.as_ref().map(|f| TenantSettings {
            locations_enabled: f.locations_enabled,
            clients_enabled: f.clients_enabled,
            mfa_required_for_admins: f.mfa_required_for_admins,
        }),
        statuses,
    };
    require_owned(caller, &batch)?;
    Ok(batch)
}

impl<S: Store> Relationships<S> {
    /// Applies `batches` in order, each once: a batch delivered again was checked when it was
    /// first applied (and changes nothing now), so the holder's roles may have changed since,
    /// which must not refuse the replay. Answers the token covering them and which were replays.
    async fn apply(
        &self,
        tenant: TenantId,
        batches: &[FactBatch],
    ) -> Result<(lms_api::common::v1::ConsistencyToken, Vec<bool>), ApiError> {
        // Only a batch giving a responsibility has a matrix to hold: the others (a relay's
        // bookings and enrolments) need no read before the write.
        for batch in batches {
            if gives_responsibility(&batch.changes) && !self.0.store.applied(batch.event_id).await?
            {
                self.check_matrix(tenant, &batch.changes).await?;
            }
        }
        let Applied {
            revision,
            replays,
            clients,
        } = self
            .0
            .store
            .apply_fact_batches(tenant, batches)
            .await
            .map_err(ApiError::from)?;
        for (client, at) in clients {
            self.0.invalidate(client, Vec::new(), true, at);
        }
        // One invalidation for the whole call: every replica drops what any fresh batch changed.
        let (mut keys, mut tenant_wide) = (Vec::new(), false);
        for (batch, replay) in batches.iter().zip(&replays) {
            if !replay {
                let (changed, wide) = affected(tenant, batch);
                keys.extend(changed);
                tenant_wide |= wide;
            }
        }
        if replays.iter().any(|replay| !replay) {
            keys.sort();
            keys.dedup();
            self.0.invalidate(tenant, keys, tenant_wide, revision);
        }
        Ok((convert::token(tenant, revision), replays))
    }
}

/// Whether `changes` make anyone the holder of a responsibility (what [`Relationships::check_matrix`]
/// holds to the matrix).
fn gives_responsibility(changes: &[Change]) -> bool {
    changes.iter().any(|change| {
        matches!(change, Change::Touch(fact)
            if convert::responsibility_of_fact(fact.resource_type, fact.relation).is_some())
    })
}

impl<S: Store> Relationships<S> {
    /// The responsibility matrix, held when responsibilities are given and not only when they
    /// are used: each user a batch makes a course tutor or administrator, an event
    /// administrator, or a group manager or administrator must hold a role allowing it. (The
    /// one Course Tutor per course is the store's guard.)
    async fn check_matrix(&self, tenant: TenantId, changes: &[Change]) -> Result<(), ApiError> {
        let user = ObjectType::User as i16;
        for change in changes {
            let Change::Touch(fact) = change else {
                continue;
            };
            let Some(responsibility) =
                convert::responsibility_of_fact(fact.resource_type, fact.relation)
            else {
                continue;
            };
            if fact.subject_type != user {
                continue;
            }
            let holder = UserId::from_uuid(fact.subject_id);
            let (rows, revision) = self.0.store.subject_rows(tenant, holder).await?;
            let allowed = subject_facts(tenant, holder, &rows, revision, now())
                .facts
                .allowed_responsibilities();
            check_responsibility(responsibility, allowed, holder, None)
                .map_err(responsibility_refusal)?;
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl<S: Store> RelationshipService for Relationships<S> {
    async fn write_relationships(
        &self,
        request: Request<WriteRelationshipsRequest>,
    ) -> Result<Response<WriteRelationshipsResponse>, Status> {
        let caller = caller(&request)?;
        let tenant = tenant_service(&caller)?;
        let batch = fact_batch(&caller, tenant, request.get_ref(), "")?;
        let (written_at, replays) = self.apply(tenant, std::slice::from_ref(&batch)).await?;
        Ok(Response::new(WriteRelationshipsResponse {
            written_at: Some(written_at),
            already_applied: replays.first().copied().unwrap_or(true),
        }))
    }

    async fn write_relationships_batch(
        &self,
        request: Request<WriteRelationshipsBatchRequest>,
    ) -> Result<Response<WriteRelationshipsBatchResponse>, Status> {
        let caller = caller(&request)?;
        let tenant = tenant_service(&caller)?;
        let events = &request.get_ref().events;
        if events.len() > MAX_BATCHED_EVENTS {
            return Err(
                ApiError::invalid_field("events", format!("at most {MAX_BATCHED_EVENTS}")).into(),
            );
        }
        let batches = events
            .iter()
            .enumerate()
            .map(|(i, event)| fact_batch(&caller, tenant, event, &format!("events[{i}].")))
            .collect::<Result<Vec<_>, _>>()?;
        let (written_at, already_applied) = self.apply(tenant, &batches).await?;
        Ok(Response::new(WriteRelationshipsBatchResponse {
            written_at: Some(written_at),
            already_applied,
        }))
    }

    async fn read_relationships(
        &self,
        request: Request<ReadRelationshipsRequest>,
    ) -> Result<Response<ReadRelationshipsResponse>, Status> {
        let caller = caller(&request)?;
        let tenant = tenant_service(&caller)?;
        let r = request.into_inner();
        let filter = RelationshipFilter {
            resource: r
                .resource
                .as_ref()
                .map(|o| convert::object("resource", Some(o)))
                .transpose()?,
            relation: (r.relation != 0)
                .then(|| convert::relation("relation", r.relation))
                .transpose()?,
            subject: r
                .subject
                .as_ref()
                .map(|o| convert::object("subject", Some(o)))
                .transpose()?,
        };
        // Reading one relation needs its owner's scope; reading them all, every owner's.
        match filter.relation {
            Some(relation) => require_scope(&caller, owner_scope(relation))?,
            None => {
                require_scope(&caller, Scope::PeopleFacts)?;
                require_scope(&caller, Scope::CourseFacts)?;
            }
        }
        let limit = page_size(r.page_size, 100, 1000);
        let mut found = self
            .0
            .store
            .relationships(
                tenant,
                filter,
                convert::after_relationship_token(&r.page_token)?,
                limit + 1,
            )
            .await
            .map_err(ApiError::from)?;
        let next_page_token = if found.len() as i64 > limit {
            found.truncate(limit as usize);
            found
                .last()
                .map(convert::relationship_token)
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ReadRelationshipsResponse {
            relationships: found.iter().map(convert::relationship_to_proto).collect(),
            next_page_token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_has_an_owner_scope() {
        for number in 1..=21 {
            let relation = Relation::try_from(number).expect("numbered relation");
            assert_ne!(
                owner_scope(number as i16),
                Scope::Operator,
                "{relation:?} has no owner"
            );
        }
        assert_eq!(owner_scope(Relation::Member as i16), Scope::PeopleFacts);
        assert_eq!(owner_scope(Relation::Enrolled as i16), Scope::CourseFacts);
        // The partial index relationships_granted and the subject read name it by number.
        assert_eq!(Relation::GrantedBy as i16, 21);
    }
}
