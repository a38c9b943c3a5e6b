//! Walks the kernel's scope paths over the store's relationships.
//!
//! Each hop the kernel's [`Walk`] asks for is answered with one store query for the whole set
//! of objects it stands on (a manager's groups, a level of the unit tree), except a hop from
//! the subject along one of their own relations (the groups they manage, the courses they
//! tutor, ...): the subject's compiled facts hold those already, with validity windows
//! applied, so that hop costs no query. Facts outside their validity window are no facts: a
//! walk never crosses them, as the decision facts of a user never hold them.

use lms_api::authorization::v1::Relation as ProtoRelation;
use lms_api::common::v1::ObjectType;
use lms_kernel::scope::walk::{Reached, Request, Walk};
use lms_kernel::scope::{Kind, Origin, Path, Relation, Step};
use lms_kernel::{SubjectFacts, TenantId};
use lms_runtime::ApiError;
use uuid::Uuid;

use crate::convert::{kind_to_proto, relation_to_proto};
use crate::core::Core;
use crate::facts::active;
use crate::store::{End, RelatedFilter, RelationshipFilter, Store};

/// Most objects one query of a hop reads from (each is a bound parameter).
pub(super) const BATCH: usize = 500;

/// The objects the subject's own facts relate them to by `step`, if `step` reads one of the
/// subject's relations (a fact whose subject is the subject).
fn held_by(subject: &SubjectFacts, step: Step) -> Option<Vec<Uuid>> {
    let Step::Resources(relation) = step else {
        return None;
    };
    let s = subject;
    Some(match relation {
        Relation::Manager => s.managed_groups.iter().map(|g| g.as_uuid()).collect(),
        Relation::Administrator => s.administered_groups.iter().map(|g| g.as_uuid()).collect(),
        Relation::CourseTutor => s.tutored_courses.iter().map(|c| c.as_uuid()).collect(),
        Relation::CourseAdministrator => {
            s.administered_courses.iter().map(|c| c.as_uuid()).collect()
        }
        Relation::Enrolled => s.enrolled_courses.iter().map(|c| c.as_uuid()).collect(),
        Relation::Offered => s.offered_courses.iter().map(|c| c.as_uuid()).collect(),
        Relation::EventAdministrator => s.administered_events.iter().map(|e| e.as_uuid()).collect(),
        Relation::Booked => s.booked_events.iter().map(|e| e.as_uuid()).collect(),
        _ => return None,
    })
}

impl<S: Store> Core<S> {
    /// Objects related to `(from_kind, from)` by `relation`, reading the relation forwards
    /// (`from` is the resource, answering subjects) or backwards (`from` is the subject,
    /// answering resources). At most the fan-out limit are read; `cut` is set when there may
    /// be more.
    pub(super) async fn related(
        &self,
        tenant: TenantId,
        (from_kind, from): (ObjectType, Uuid),
        relation: ProtoRelation,
        forwards: bool,
        cut: &mut bool,
    ) -> Result<Vec<Uuid>, ApiError> {
        let end = Some((from_kind as i16, from));
        let filter = RelationshipFilter {
            resource: if forwards { end } else { None },
            relation: Some(relation as i16),
            subject: if forwards { None } else { end },
        };
        let fanout = self.lookups.fanout;
        let found = self
            .store
            .relationships(tenant, filter, None, fanout)
            .await?;
        *cut |= found.len() as i64 >= fanout;
        Ok(found
            .into_iter()
            .map(|r| {
                if forwards {
                    r.subject_id
                } else {
                    r.resource_id
                }
            })
            .collect())
    }

    /// Answers one hop of a walk for `subject`: one store query per [`BATCH`] objects (more
    /// only past the fan-out limit of relationships per object on average, where the hop
    /// stops and sets `cut`).
    async fn hop(
        &self,
        subject: &SubjectFacts,
        request: Request<'_, Uuid>,
        now: i64,
        cut: &mut bool,
    ) -> Result<Vec<(Uuid, Uuid)>, ApiError> {
        let fanout = self.lookups.fanout;
        let mut found = Vec::new();
        let me = subject.user.as_uuid();
        let mut from = request.from;
        let held = (request.from_kind == Kind::User && from.contains(&me))
            .then(|| held_by(subject, request.step))
            .flatten();
        let rest: Vec<Uuid>;
        if let Some(held) = held {
            found.extend(held.into_iter().map(|to| (me, to)));
            rest = from.iter().copied().filter(|id| *id != me).collect();
            from = &rest;
        }
        let (end, to_kind) = match request.step {
            Step::Subjects(_) => (End::Resource, kind_to_proto(request.to_kind) as i16),
            _ => (End::Subject, kind_to_proto(request.to_kind) as i16),
        };
        for ids in from.chunks(BATCH) {
            let filter = RelatedFilter {
                relation: relation_to_proto(request.relation) as i16,
                end,
                kind: kind_to_proto(request.from_kind) as i16,
                ids,
            };
            let budget = fanout as usize * ids.len();
            let (mut after, mut read) = (None, 0);
            loop {
                let page = self
                    .store
                    .related(subject.tenant, filter, after, fanout)
                    .await?;
                read += page.len();
                after = page.last().copied();
                found.extend(page.iter().filter(|r| active(r, now)).filter_map(|r| {
                    let (from, (kind, to)) = match end {
                        End::Resource => (r.resource_id, (r.subject_type, r.subject_id)),
                        End::Subject => (r.subject_id, (r.resource_type, r.resource_id)),
                    };
                    (kind == to_kind).then_some((from, to))
                }));
                if page.len() < fanout as usize {
                    break;
                }
                if read >= budget {
                    *cut = true;
                    break;
                }
            }
        }
        Ok(found)
    }

    /// The objects of `kind` at the end of `path` walked from `origin`, with their trails.
    pub(super) async fn walk(
        &self,
        subject: &SubjectFacts,
        path: Path,
        origin: Origin,
        kind: Kind,
        now: i64,
        cut: &mut bool,
    ) -> Result<Vec<Reached<Uuid>>, ApiError> {
        let mut walk = Walk::new(path, origin.as_uuid(), kind);
        while let Some(request) = walk.request() {
            let found = self.hop(subject, request, now, cut).await?;
            walk.answer(found);
        }
        Ok(walk.reached())
    }
}
