//! `EventService`: events of courses, the bookings on them and attendance. An event is created
//! and cancelled on its course's duties (`events.create` on the course, `events.delete` on the
//! event: its Course Tutor and Course Administrators, the tenant's course administrators); its
//! Event Administrators manage its bookings. The booking RPCs live in `bookings.rs`. Listing
//! asks authorization once per chunk of visible ids, never once per event.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::event_service_server::{EventService, EventServiceServer};
use lms_api::delegation::v1::{
    BookUserRequest, BookUserResponse, CancelBookingRequest, CancelBookingResponse,
    CancelEventRequest, CancelEventResponse, CreateEventRequest, CreateEventResponse,
    DecideBookingRequest, DecideBookingResponse, Event, GetEventRequest, GetEventResponse,
    ListBookingsRequest, ListBookingsResponse, ListEventsRequest, ListEventsResponse,
    MarkAttendanceRequest, MarkAttendanceResponse,
};
use lms_kernel::{CourseId, EventId, EventStatus, Permission, Responsibility, TenantId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use lms_runtime::peers::Listing;
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{
    capacity, count, optional_id, place, reference, required_id, schedule, title,
};
use crate::core::Core;
use crate::relationships;
use crate::store::{EventFilter, EventRecord, Store, Tally};

/// Events, bookings and attendance.
pub struct Events<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Events<S> {
    /// The event in `event_id`, once authorization allowed the acting person `permission` on
    /// it: decided before the event is read, so nobody learns which ids exist.
    pub(super) async fn on_event(
        &self,
        acting: &Acting,
        event_id: &str,
        permission: Permission,
    ) -> Result<EventId, ApiError> {
        let event = required_id("event_id", event_id, EventId::parse)?;
        self.0
            .authorization
            .require(acting, permission, reference(ObjectType::Event, event))
            .await?;
        Ok(event)
    }

    /// Events as the API shows them, with the Event Administrators in effect on each.
    async fn views(
        &self,
        tenant: TenantId,
        records: &[(EventRecord, Tally)],
    ) -> Result<Vec<Event>, ApiError> {
        let ids: Vec<_> = records.iter().map(|(e, _)| e.id.as_uuid()).collect();
        let duties = self.0.store.responsibilities_on(tenant, &ids).await?;
        let now = now();
        Ok(records
            .iter()
            .map(|(record, tally)| {
                let administrators = duties
                    .iter()
                    .filter(|d| d.object == record.id.as_uuid())
                    .filter(|d| d.kind == Responsibility::EventAdministrator)
                    .filter(|d| d.window.contains(now))
                    .map(|d| d.user.to_string())
                    .collect();
                crate::convert::event(record, *tally, administrators)
            })
            .collect())
    }

    async fn create(
        &self,
        request: Request<CreateEventRequest>,
    ) -> Result<CreateEventResponse, ApiError> {
        let r = request.get_ref();
        let (acting, course) = self
            .0
            .on_course(&request, &r.course_id, Permission::EventsCreate)
            .await?;
        let actor = Actor::of(&request)?;
        let (starts_at, ends_at) = schedule(r.starts_at.as_ref(), r.ends_at.as_ref())?;
        let capacity = capacity(r.capacity)?;
        let place = place(&r.place)?;
        let title = if r.title.is_empty() {
            let course = self
                .0
                .store
                .course(acting.tenant, course)
                .await?
                .ok_or_else(|| ApiError::not_found("course", course.to_string()))?;
            course.title
        } else {
            title("title", &r.title)?.as_str().to_owned()
        };
        let now = now();
        let record = EventRecord {
            id: EventId::generate(),
            course,
            title,
            place,
            starts_at,
            ends_at,
            capacity,
            requires_approval: r.booking_requires_approval,
            waitlist: !r.waitlist_disabled,
            status: EventStatus::Scheduled,
            created_by: actor.label(),
            created_at: now,
            cancelled_at: None,
        };
        let audit = actor.did("event.created", "event", record.id);
        self.0
            .store
            .create_event(
                acting.tenant,
                &record,
                &relationships::event_created(&record),
                &audit,
            )
            .await?;
        Ok(CreateEventResponse {
            written_at: self.0.deliver(acting.tenant).await,
            event: Some(crate::convert::event(&record, Tally::default(), Vec::new())),
        })
    }

    async fn get(&self, request: Request<GetEventRequest>) -> Result<GetEventResponse, ApiError> {
        let acting = acting(&request)?;
        let event = self
            .on_event(&acting, &request.get_ref().event_id, Permission::EventsRead)
            .await?;
        let record = self
            .0
            .store
            .event(acting.tenant, event)
            .await?
            .ok_or_else(|| ApiError::not_found("event", event.to_string()))?;
        Ok(GetEventResponse {
            event: self.views(acting.tenant, &[record]).await?.pop(),
        })
    }

    async fn list(
        &self,
        request: Request<ListEventsRequest>,
    ) -> Result<ListEventsResponse, ApiError> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let course = optional_id("course_id", &r.course_id, CourseId::parse)?;
        let after = optional_id("page_token", &r.page_token, EventId::parse)?;
        if let Some(course) = course
            && let (Some(taken), seen) = self.0.takeable(tenant, course).await?
            && let Some(grant) = taken.granted
        {
            // A granted course's events are its master's: listed to those who learn on it
            // (`events.read` on the course, under its owner), without the master's people.
            self.0
                .authorization
                .require(&acting, Permission::EventsRead, seen)
                .await?;
            let limit = page_size(r.page_size, 100, 1000);
            let filter = EventFilter {
                only: None,
                course: Some(course),
                after,
            };
            let found = self
                .0
                .store
                .events(grant.master, &filter, limit + 1)
                .await?;
            let (found, next_page_token) = page(found, limit, |(event, _)| event.id.to_string());
            return Ok(ListEventsResponse {
                events: found
                    .iter()
                    .map(|(record, tally)| crate::convert::event(record, *tally, Vec::new()))
                    .collect(),
                next_page_token,
            });
        }
        let listing = Listing {
            permission: Permission::EventsRead,
            kind: ObjectType::Event,
            after: after.map(|event| event.as_uuid()),
            limit: page_size(r.page_size, 100, 1000),
        };
        let (events, next_page_token) = self
            .0
            .authorization
            .visible_page(
                &acting,
                listing,
                |(event, _): &(EventRecord, Tally)| event.id.as_uuid(),
                |only, wanted| {
                    let filter = EventFilter {
                        only: only.map(|ids| ids.into_iter().map(EventId::from_uuid).collect()),
                        course,
                        after,
                    };
                    async move { Ok(self.0.store.events(tenant, &filter, wanted).await?) }
                },
            )
            .await?;
        Ok(ListEventsResponse {
            events: self.views(tenant, &events).await?,
            next_page_token,
        })
    }

    async fn cancel(
        &self,
        request: Request<CancelEventRequest>,
    ) -> Result<CancelEventResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let event = self
            .on_event(
                &acting,
                &request.get_ref().event_id,
                Permission::EventsDelete,
            )
            .await?;
        let called_off = self
            .0
            .store
            .cancel_event(
                acting.tenant,
                event,
                now(),
                relationships::event_called_off,
                &actor.did("event.cancelled", "event", event),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("event", event.to_string()))?;
        // Read again for how its bookings stand now (marked attendance stays).
        let stored = self.0.store.event(acting.tenant, event).await?;
        let view = self.views(acting.tenant, stored.as_slice()).await?.pop();
        Ok(CancelEventResponse {
            event: view,
            cancelled_bookings: count(called_off.bookings.len()),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> EventService for Events<S> {
    async fn create_event(
        &self,
        request: Request<CreateEventRequest>,
    ) -> Result<Response<CreateEventResponse>, Status> {
        Ok(Response::new(self.create(request).await?))
    }

    async fn get_event(
        &self,
        request: Request<GetEventRequest>,
    ) -> Result<Response<GetEventResponse>, Status> {
        Ok(Response::new(self.get(request).await?))
    }

    async fn list_events(
        &self,
        request: Request<ListEventsRequest>,
    ) -> Result<Response<ListEventsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn cancel_event(
        &self,
        request: Request<CancelEventRequest>,
    ) -> Result<Response<CancelEventResponse>, Status> {
        Ok(Response::new(self.cancel(request).await?))
    }

    async fn book_user(
        &self,
        request: Request<BookUserRequest>,
    ) -> Result<Response<BookUserResponse>, Status> {
        Ok(Response::new(self.book(request).await?))
    }

    async fn decide_booking(
        &self,
        request: Request<DecideBookingRequest>,
    ) -> Result<Response<DecideBookingResponse>, Status> {
        Ok(Response::new(self.decide(request).await?))
    }

    async fn cancel_booking(
        &self,
        request: Request<CancelBookingRequest>,
    ) -> Result<Response<CancelBookingResponse>, Status> {
        Ok(Response::new(self.unbook(request).await?))
    }

    async fn list_bookings(
        &self,
        request: Request<ListBookingsRequest>,
    ) -> Result<Response<ListBookingsResponse>, Status> {
        Ok(Response::new(self.list_bookings_of(request).await?))
    }

    async fn mark_attendance(
        &self,
        request: Request<MarkAttendanceRequest>,
    ) -> Result<Response<MarkAttendanceResponse>, Status> {
        Ok(Response::new(self.mark(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> EventServiceServer<Events<S>> {
    EventServiceServer::new(Events(core))
}
