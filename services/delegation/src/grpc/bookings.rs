//! The booking RPCs of `EventService`. Who may book whom is decided twice over, as the products
//! document it: on the person (`bookings.create` on them: oneself, a Manager their team, a Local
//! Administrator their location, wherever the event is) or on the event (`bookings.approve`:
//! those who manage its bookings, who book anyone). The event route asks `bookings.approve`
//! rather than `bookings.create` on the event because a learner's own-learning grants reach
//! every event of a course they are enrolled on: `bookings.create` there would let them book
//! their classmates. The person's barred-from-booking flag is the kernel's veto, whoever
//! books them. The store then places them under the event's lock.

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::{
    BookUserRequest, BookUserResponse, CancelBookingRequest, CancelBookingResponse,
    DecideBookingRequest, DecideBookingResponse, ListBookingsRequest, ListBookingsResponse,
    MarkAttendanceRequest, MarkAttendanceResponse,
};
use lms_kernel::{BookingId, EventId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::Request;

use super::events::Events;
use crate::audit::Actor;
use crate::convert::{attendance, booking, booking_state, optional_id, reference, required_id};
use crate::relationships;
use crate::store::{BookingCursor, BookingFilter, BookingRecord, EventRecord, Store, ToBook};

/// The denial authorization names when the person is barred from booking.
const BOOKINGS_RESTRICTED: &str = "BOOKINGS_RESTRICTED";

/// The kernel's reason for a denial authorization answered (`NO_GRANT`, `BOOKINGS_RESTRICTED`).
fn denial(error: &ApiError) -> Option<&str> {
    match error {
        ApiError::PermissionDenied { metadata, .. } => metadata.get("denial").map(String::as_str),
        _ => None,
    }
}

fn restricted() -> ApiError {
    ApiError::FailedPrecondition {
        reason: BOOKINGS_RESTRICTED,
        message: "the person's bookings are restricted: nobody may book them".into(),
    }
}

impl<S: Store + Clone> Events<S> {
    /// Fails unless the acting person may book `user` onto `event`. The event must be one they
    /// see (or of a course they see): nobody books onto, or learns of, events beyond that.
    async fn may_book(
        &self,
        acting: &Acting,
        event: EventId,
        user: UserId,
    ) -> Result<(), ApiError> {
        let authorization = &self.0.authorization;
        let on_event = reference(ObjectType::Event, event);
        if !authorization
            .allows(acting, Permission::EventsRead, on_event.clone())
            .await?
        {
            // An id nobody has is refused like one the caller may not see.
            let course = self.0.store.event(acting.tenant, event).await?;
            let course = course.map(|(record, _)| record.course);
            let visible = match course {
                Some(course) => {
                    authorization
                        .allows(
                            acting,
                            Permission::CoursesRead,
                            reference(ObjectType::Course, course),
                        )
                        .await?
                }
                None => false,
            };
            if !visible {
                return authorization
                    .require(acting, Permission::EventsRead, on_event)
                    .await;
            }
        }
        let on_person = authorization
            .require(
                acting,
                Permission::BookingsCreate,
                reference(ObjectType::User, user),
            )
            .await;
        let denied = match on_person {
            Ok(()) => return Ok(()),
            Err(denied @ ApiError::PermissionDenied { .. }) => denied,
            Err(other) => return Err(other),
        };
        match denial(&denied) {
            Some(BOOKINGS_RESTRICTED) => Err(restricted()),
            // Only a person the caller merely holds no grant over may be booked by those who
            // manage the event: never an id of another tenant, or one nobody has.
            Some("NO_GRANT") => {
                authorization
                    .require(acting, Permission::BookingsApprove, on_event)
                    .await
            }
            Some("OUTSIDE_TENANT" | "RESOURCE_UNKNOWN") => {
                Err(ApiError::not_found("user", user.to_string()))
            }
            _ => Err(denied),
        }
    }

    /// Fails with FAILED_PRECONDITION when `user` was barred from booking (since they asked):
    /// the kernel's veto answers before any grant is looked at, so asking `bookings.create` on
    /// them tells, whatever the caller holds over them.
    async fn not_restricted(&self, acting: &Acting, user: UserId) -> Result<(), ApiError> {
        let asked = self
            .0
            .authorization
            .require(
                acting,
                Permission::BookingsCreate,
                reference(ObjectType::User, user),
            )
            .await;
        match asked {
            Err(denied) if denial(&denied) == Some(BOOKINGS_RESTRICTED) => Err(restricted()),
            Ok(()) | Err(ApiError::PermissionDenied { .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// A booking with its event, read first to know where the decision is asked.
    async fn booking_of(
        &self,
        acting: &Acting,
        booking_id: &str,
    ) -> Result<(BookingRecord, EventRecord), ApiError> {
        let id = required_id("booking_id", booking_id, BookingId::parse)?;
        self.0
            .store
            .booking(acting.tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("booking", id.to_string()))
    }

    /// Fails unless the acting person manages `event`'s bookings (its administrators, the
    /// course's tutor and administrators, the tenant's).
    async fn manages(&self, acting: &Acting, event: EventId) -> Result<(), ApiError> {
        self.0
            .authorization
            .require(
                acting,
                Permission::BookingsApprove,
                reference(ObjectType::Event, event),
            )
            .await
    }

    pub(super) async fn book(
        &self,
        request: Request<BookUserRequest>,
    ) -> Result<BookUserResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let event = required_id("event_id", &r.event_id, EventId::parse)?;
        let user = optional_id("user_id", &r.user_id, UserId::parse)?.unwrap_or(acting.user);
        self.may_book(&acting, event, user).await?;
        let booked = self
            .0
            .store
            .book(
                acting.tenant,
                ToBook {
                    event,
                    user,
                    by: &actor.label(),
                    at: now(),
                },
                relationships::booking_moved,
                &actor.did("booking.made", "booking", ""),
            )
            .await?;
        Ok(BookUserResponse {
            booking: Some(booking(&booked.booking)),
            created: booked.created,
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    pub(super) async fn decide(
        &self,
        request: Request<DecideBookingRequest>,
    ) -> Result<DecideBookingResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let (asked, event) = self.booking_of(&acting, &r.booking_id).await?;
        self.manages(&acting, event.id).await?;
        if r.approve {
            self.not_restricted(&acting, asked.user).await?;
        }
        let action = match r.approve {
            true => "booking.approved",
            false => "booking.declined",
        };
        let decided = self
            .0
            .store
            .decide_booking(
                acting.tenant,
                asked.id,
                r.approve,
                now(),
                relationships::booking_moved,
                &actor.did(action, "booking", asked.id),
            )
            .await?;
        Ok(DecideBookingResponse {
            booking: Some(booking(&decided)),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    pub(super) async fn unbook(
        &self,
        request: Request<CancelBookingRequest>,
    ) -> Result<CancelBookingResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let (current, event) = self
            .booking_of(&acting, &request.get_ref().booking_id)
            .await?;
        // The learner themselves, their manager, or whoever manages the event.
        let on_person = self
            .0
            .authorization
            .allows(
                &acting,
                Permission::BookingsCancel,
                reference(ObjectType::User, current.user),
            )
            .await?;
        if !on_person {
            self.manages(&acting, event.id).await?;
        }
        let unbooked = self
            .0
            .store
            .cancel_booking(
                acting.tenant,
                current.id,
                now(),
                relationships::booking_cancelled,
                &actor.did("booking.cancelled", "booking", current.id),
            )
            .await?;
        // Who took the place is the event's business, not the cancelling learner's.
        let promoted = match (&unbooked.promoted, on_person) {
            (Some(promoted), true) => self
                .0
                .authorization
                .allows(
                    &acting,
                    Permission::BookingsApprove,
                    reference(ObjectType::Event, event.id),
                )
                .await?
                .then(|| booking(promoted)),
            (Some(promoted), false) => Some(booking(promoted)),
            (None, _) => None,
        };
        Ok(CancelBookingResponse {
            booking: Some(booking(&unbooked.booking)),
            promoted,
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    pub(super) async fn list_bookings_of(
        &self,
        request: Request<ListBookingsRequest>,
    ) -> Result<ListBookingsResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let event = optional_id("event_id", &r.event_id, EventId::parse)?;
        let user = optional_id("user_id", &r.user_id, UserId::parse)?;
        let state = booking_state(r.status)?;
        match (event, user) {
            (Some(event), None) => self.manages(&acting, event).await?,
            // A person's bookings (the caller's when nothing is named): theirs, or those who
            // may read that person's.
            (_, user) => {
                let person = user.unwrap_or(acting.user);
                self.0
                    .authorization
                    .require(
                        &acting,
                        Permission::BookingsRead,
                        reference(ObjectType::User, person),
                    )
                    .await?;
            }
        }
        let user = user.or(event.is_none().then_some(acting.user));
        let after = match (r.page_token.is_empty(), event) {
            (true, _) => None,
            (false, Some(_)) => Some(BookingCursor::Arrival(r.page_token.parse().map_err(
                |_| ApiError::invalid_field("page_token", "is not a token this listing gave"),
            )?)),
            (false, None) => Some(BookingCursor::Before(required_id(
                "page_token",
                &r.page_token,
                BookingId::parse,
            )?)),
        };
        let limit = page_size(r.page_size, 100, 1000);
        let filter = BookingFilter {
            event,
            user,
            state,
            after,
        };
        let rows = self
            .0
            .store
            .bookings(acting.tenant, &filter, limit + 1)
            .await?;
        let (rows, next_page_token) = page(rows, limit, |row| match event {
            Some(_) => row.arrival.to_string(),
            None => row.id.to_string(),
        });
        Ok(ListBookingsResponse {
            bookings: rows.iter().map(booking).collect(),
            next_page_token,
        })
    }

    pub(super) async fn mark(
        &self,
        request: Request<MarkAttendanceRequest>,
    ) -> Result<MarkAttendanceResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let attendance = attendance(r.attendance)?;
        let (current, event) = self.booking_of(&acting, &r.booking_id).await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::AttendanceMark,
                reference(ObjectType::Event, event.id),
            )
            .await?;
        let marked = self
            .0
            .store
            .mark_attendance(
                acting.tenant,
                current.id,
                attendance,
                now(),
                &actor.did("booking.attendance_marked", "booking", current.id),
            )
            .await?;
        Ok(MarkAttendanceResponse {
            booking: Some(booking(&marked)),
        })
    }
}
