//! What authorization tells reporting (DESIGN.md §7): who holds which role. Every change of a
//! person's role assignments (given, taken back, made main) commits, with it, a
//! `reporting.roles` record of all their assignments as they stand, through authorization's
//! outbox to its event stream; reporting keeps the newest record of each holder.

use lms_api::reporting::v1::{HolderRoles, RoleHolding, RoleRecords};
use lms_kernel::UserId;
use lms_runtime::outbox::{NewEvent, RECORDS_PER_EVENT, topic};
use prost::Message;
use uuid::Uuid;

use crate::convert;
use crate::store::AssignmentRecord;

/// One holder's assignments, whole (none: they hold no role any more).
pub fn holder(user: UserId, assignments: &[AssignmentRecord]) -> HolderRoles {
    HolderRoles {
        user_id: user.to_string(),
        assignments: assignments
            .iter()
            .map(|a| {
                let shown = convert::assignment(a);
                RoleHolding {
                    assignment_id: shown.assignment_id,
                    role_id: shown.role_id,
                    unit_id: shown.unit_id,
                    valid_from: shown.valid_from,
                    valid_until: shown.valid_until,
                    main_role: shown.main_role,
                    source: shown.source,
                }
            })
            .collect(),
    }
}

/// `holders` as record events, at most [`RECORDS_PER_EVENT`] holders an event; none for none.
pub fn role_records(holders: Vec<HolderRoles>) -> Vec<NewEvent> {
    holders
        .chunks(RECORDS_PER_EVENT)
        .map(|chunk| NewEvent {
            event_id: Uuid::now_v7(),
            topic: topic::ROLES,
            payload: RoleRecords {
                holders: chunk.to_vec(),
            }
            .encode_to_vec(),
        })
        .collect()
}
