//! `EventService`: Events, bookings and attendance. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::event_service_server::{EventService, EventServiceServer};

/// Events, bookings and attendance.
#[derive(Debug, Default, Clone, Copy)]
pub struct Events;

#[tonic::async_trait]
impl EventService for Events {}

/// The gRPC service.
pub fn service() -> EventServiceServer<Events> {
    EventServiceServer::new(Events)
}
