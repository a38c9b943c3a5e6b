//! The event backbone's reading side (DESIGN.md §7): reporting follows the services' event
//! streams with a consumer group and hands each event to the
//! [`Projection`](crate::projection::Projection).
//!
//! - Each entry is acknowledged only after its projection committed, or after it was set aside
//!   (below). A round cut short (the store down) leaves the rest pending for this replica, which
//!   reads its own pending entries again before anything new; a replica that stopped leaves
//!   them to another, which takes them over once idle for [`CLAIM_AFTER`]. The inbox makes a
//!   second application a no-op.
//! - The group starts at the beginning of each stream, so what the services published while
//!   reporting was down (or before it first ran) is read when it starts.
//! - An entry is opened only if its MAC holds (`redis.events_mac_key`, see
//!   [`lms_runtime::outbox::open_entry`]). One that does not, one whose payload cannot be read,
//!   and one the store refused [`MAX_ATTEMPTS`] times are set aside in `skipped_entries` with
//!   every field, counted (`lms.reporting.events_skipped`, by reason), then acknowledged: kept,
//!   not lost, and not holding the stream up.
//! - `lms.reporting.events_behind` is, per stream, the entries not yet read plus those read and
//!   not acknowledged. `lms.reporting.stream_gap` is 1 for a stream that was trimmed past
//!   entries the group never read: the projections miss them until they are rebuilt.
//!
//! Without Redis (`lms dev`) the same events come from the process's
//! [`EventBus`](lms_runtime::outbox::EventBus) instead ([`follow_bus`]).

mod bus;
mod reader;
mod reply;

pub use bus::follow_bus;
pub use reader::{BATCH_ENTRIES, CLAIM_AFTER, GROUP, MAX_ATTEMPTS, ReadError, StreamReader};
