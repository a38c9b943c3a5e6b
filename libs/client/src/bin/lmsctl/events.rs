//! `events`, `book`, `bookings`, `attendance` and `competencies`: dated sessions of courses, the
//! places on them and what happened there (delegation). Who may do what is delegation's
//! decision: the course's tutor and administrators create and cancel events, an Event
//! Administrator manages one event's bookings, a manager books their team, a learner themselves.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, Attendance, BookUserRequest, Booking, BookingStatus,
    CancelBookingRequest, CancelEventRequest, CompetencyCheck, CreateEventRequest,
    DecideBookingRequest, Event, EventStatus, GetEventRequest, ListBookingsRequest,
    ListCompetencyChecksRequest, ListEventsRequest, MarkAttendanceRequest, Responsibility,
    ResponsibilityKind, SignOffCompetencyRequest,
};
use lms_client::Client;
use lms_client::output::{Rows, utc, utc_of};
use prost_types::Timestamp;

use crate::courses::{now, parse_offset};

/// What `lmsctl events` does.
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// The events you may see (of one course with `--course`).
    List {
        /// Only this course's.
        #[arg(long)]
        course: Option<String>,
    },
    /// One event with its places.
    Get {
        /// The event.
        event: String,
    },
    /// Create an event of a course.
    Create {
        /// The course.
        course: String,
        /// Starts this long from now (`30m`, `2h`, `7d`).
        #[arg(long, value_parser = parse_offset)]
        starts_in: i64,
        /// Lasts this long (`90m`, `2h`, `1d`).
        #[arg(long, value_parser = parse_offset)]
        lasts: i64,
        /// Its title (the course's when left out).
        #[arg(long, default_value = "")]
        title: String,
        /// Where it takes place.
        #[arg(long, default_value = "")]
        place: String,
        /// Places (0: unlimited).
        #[arg(long, default_value_t = 0)]
        capacity: i32,
        /// Bookings wait for approval.
        #[arg(long)]
        approval: bool,
        /// A full event refuses further bookings instead of waitlisting them.
        #[arg(long)]
        no_waitlist: bool,
    },
    /// Cancel an event and every current booking on it.
    Cancel {
        /// The event.
        event: String,
    },
    /// Make someone an Event Administrator of an event.
    Administrator {
        /// The event.
        event: String,
        /// The person.
        user: String,
    },
}

/// `lmsctl book`: a place on an event.
#[derive(Debug, Args)]
pub struct BookArgs {
    /// The event.
    event: String,
    /// The person to book (yourself when left out).
    #[arg(long, default_value = "")]
    user: String,
}

/// What `lmsctl bookings` does.
#[derive(Debug, Subcommand)]
pub enum BookingCommand {
    /// An event's bookings (`--event`, for those who manage it), a person's (`--user`), or yours.
    List {
        /// The event.
        #[arg(long, default_value = "")]
        event: String,
        /// The person.
        #[arg(long, default_value = "")]
        user: String,
        /// Only in this state.
        #[arg(long, value_enum)]
        status: Option<State>,
    },
    /// Approve a requested booking.
    Approve {
        /// The booking.
        booking: String,
    },
    /// Decline a requested booking.
    Decline {
        /// The booking.
        booking: String,
    },
    /// Cancel a booking (its place goes to the first on the waitlist).
    Cancel {
        /// The booking.
        booking: String,
    },
}

/// A booking state, as `--status` names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum State {
    /// Waiting for approval.
    Requested,
    /// Holds a place.
    Booked,
    /// Refused.
    Declined,
    /// Waiting for a place.
    Waitlisted,
    /// Taken back.
    Cancelled,
    /// Was there.
    Attended,
    /// Was there for part of it.
    PartlyAttended,
    /// Did not come.
    NoShow,
}

impl State {
    fn status(self) -> BookingStatus {
        match self {
            State::Requested => BookingStatus::Requested,
            State::Booked => BookingStatus::Booked,
            State::Declined => BookingStatus::Declined,
            State::Waitlisted => BookingStatus::Waitlisted,
            State::Cancelled => BookingStatus::Cancelled,
            State::Attended => BookingStatus::Attended,
            State::PartlyAttended => BookingStatus::PartlyAttended,
            State::NoShow => BookingStatus::NoShow,
        }
    }
}

/// `lmsctl attendance`: mark a booked place.
#[derive(Debug, Args)]
pub struct AttendanceArgs {
    /// The booking.
    booking: String,
    /// What happened.
    #[arg(value_enum)]
    mark: Mark,
}

/// An attendance mark.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mark {
    /// Was there.
    Attended,
    /// Was there for part of it.
    PartlyAttended,
    /// Did not come.
    NoShow,
}

/// What `lmsctl competencies` does.
#[derive(Debug, Subcommand)]
pub enum CompetencyCommand {
    /// Sign off a learner's competency on a course (its Course Tutor).
    SignOff {
        /// The course.
        course: String,
        /// The learner.
        user: String,
        /// A note for the record.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// A course's sign-offs (`--course`), a person's (`--user`), or yours.
    List {
        /// The course.
        #[arg(long, default_value = "")]
        course: String,
        /// The person.
        #[arg(long, default_value = "")]
        user: String,
    },
}

const EVENT_COLUMNS: [&str; 9] = [
    "event", "course", "title", "starts", "ends", "place", "status", "places", "waiting",
];

fn event_rows(events: impl IntoIterator<Item = Event>) -> Rows {
    let mut rows = Rows::new(&EVENT_COLUMNS);
    for event in events {
        let status = match event.status() {
            EventStatus::Cancelled => "cancelled",
            _ => "scheduled",
        };
        let places = match event.capacity {
            0 => format!("{}/unlimited", event.booked_count),
            n => format!("{}/{n}", event.booked_count),
        };
        rows.push(vec![
            event.event_id,
            event.course_id,
            event.title,
            utc_of(event.starts_at),
            utc_of(event.ends_at),
            event.place,
            status.into(),
            places,
            format!(
                "{} waitlisted, {} requested",
                event.waitlisted_count, event.requested_count
            ),
        ]);
    }
    rows
}

fn state_name(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Requested => "requested",
        BookingStatus::Booked => "booked",
        BookingStatus::Declined => "declined",
        BookingStatus::Waitlisted => "waitlisted",
        BookingStatus::Cancelled => "cancelled",
        BookingStatus::Attended => "attended",
        BookingStatus::PartlyAttended => "partly_attended",
        BookingStatus::NoShow => "no_show",
        BookingStatus::Unspecified => "",
    }
}

fn booking_rows(bookings: impl IntoIterator<Item = Booking>) -> Rows {
    let mut rows = Rows::new(&["booking", "event", "user", "status", "since", "arrival"]);
    for booking in bookings {
        let since = booking
            .history
            .last()
            .and_then(|step| step.at)
            .map(|at| utc(at.seconds))
            .unwrap_or_default();
        let state = state_name(booking.status());
        rows.push(vec![
            booking.booking_id,
            booking.event_id,
            booking.user_id,
            state.into(),
            since,
            booking.arrival.to_string(),
        ]);
    }
    rows
}

fn competency_rows(checks: impl IntoIterator<Item = CompetencyCheck>) -> Rows {
    let mut rows = Rows::new(&["check", "course", "user", "signed_off_by", "at", "note"]);
    for check in checks {
        let stamp = check.signed_off_by.unwrap_or_default();
        rows.push(vec![
            check.check_id,
            check.course_id,
            check.user_id,
            stamp.actor_id,
            utc_of(stamp.at),
            check.note,
        ]);
    }
    rows
}

fn refused(what: &'static str) -> impl FnOnce(tonic::Status) -> anyhow::Error {
    move |status| anyhow::Error::new(status).context(what)
}

/// Runs `lmsctl events`.
pub async fn events(delegation: &Client, command: EventCommand) -> anyhow::Result<Rows> {
    let mut events = delegation.events();
    Ok(match command {
        EventCommand::List { course } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = events
                    .list_events(ListEventsRequest {
                        course_id: course.clone().unwrap_or_default(),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list events")?
                    .into_inner();
                all.extend(page.events);
                if page.next_page_token.is_empty() {
                    break event_rows(all);
                }
                page_token = page.next_page_token;
            }
        }
        EventCommand::Get { event } => event_rows(
            events
                .get_event(GetEventRequest { event_id: event })
                .await
                .context("get event")?
                .into_inner()
                .event,
        ),
        EventCommand::Create {
            course,
            starts_in,
            lasts,
            title,
            place,
            capacity,
            approval,
            no_waitlist,
        } => {
            let at = |seconds| Some(Timestamp { seconds, nanos: 0 });
            let starts = now() + starts_in;
            event_rows(
                events
                    .create_event(CreateEventRequest {
                        course_id: course,
                        title,
                        starts_at: at(starts),
                        ends_at: at(starts + lasts),
                        capacity,
                        booking_requires_approval: approval,
                        place,
                        waitlist_disabled: no_waitlist,
                    })
                    .await
                    .map_err(refused("create event"))?
                    .into_inner()
                    .event,
            )
        }
        EventCommand::Cancel { event } => {
            let called_off = events
                .cancel_event(CancelEventRequest { event_id: event })
                .await
                .map_err(refused("cancel event"))?
                .into_inner();
            let mut rows = Rows::new(&["event", "cancelled_bookings", "written_at"]);
            rows.push(vec![
                called_off.event.unwrap_or_default().event_id,
                called_off.cancelled_bookings.to_string(),
                crate::token(called_off.written_at),
            ]);
            rows
        }
        EventCommand::Administrator { event, user } => {
            let given = delegation
                .responsibilities()
                .assign_responsibility(AssignResponsibilityRequest {
                    responsibility: Some(Responsibility {
                        kind: ResponsibilityKind::EventAdministrator as i32,
                        user_id: user.clone(),
                        object: Some(ObjectReference {
                            r#type: ObjectType::Event as i32,
                            id: event.clone(),
                            tenant_id: String::new(),
                        }),
                        valid_from: None,
                        valid_until: None,
                    }),
                })
                .await
                .map_err(refused("give the Event Administrator duty"))?
                .into_inner();
            let mut rows = Rows::new(&["event", "administrator", "written_at"]);
            rows.push(vec![event, user, crate::token(given.written_at)]);
            rows
        }
    })
}

/// Runs `lmsctl book`.
pub async fn book(delegation: &Client, args: BookArgs) -> anyhow::Result<Rows> {
    let booked = delegation
        .events()
        .book_user(BookUserRequest {
            event_id: args.event,
            user_id: args.user,
        })
        .await
        .map_err(refused("book"))?
        .into_inner();
    Ok(booking_rows(booked.booking))
}

/// Runs `lmsctl bookings`.
pub async fn bookings(delegation: &Client, command: BookingCommand) -> anyhow::Result<Rows> {
    let mut events = delegation.events();
    let decide = |booking_id: String, approve: bool| DecideBookingRequest {
        booking_id,
        approve,
    };
    Ok(match command {
        BookingCommand::List {
            event,
            user,
            status,
        } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = events
                    .list_bookings(ListBookingsRequest {
                        event_id: event.clone(),
                        user_id: user.clone(),
                        status: status.map_or(0, |s| s.status() as i32),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list bookings")?
                    .into_inner();
                all.extend(page.bookings);
                if page.next_page_token.is_empty() {
                    break booking_rows(all);
                }
                page_token = page.next_page_token;
            }
        }
        BookingCommand::Approve { booking } => booking_rows(
            events
                .decide_booking(decide(booking, true))
                .await
                .map_err(refused("approve booking"))?
                .into_inner()
                .booking,
        ),
        BookingCommand::Decline { booking } => booking_rows(
            events
                .decide_booking(decide(booking, false))
                .await
                .map_err(refused("decline booking"))?
                .into_inner()
                .booking,
        ),
        BookingCommand::Cancel { booking } => {
            let cancelled = events
                .cancel_booking(CancelBookingRequest {
                    booking_id: booking,
                })
                .await
                .map_err(refused("cancel booking"))?
                .into_inner();
            booking_rows(cancelled.booking.into_iter().chain(cancelled.promoted))
        }
    })
}

/// Runs `lmsctl attendance`.
pub async fn attendance(delegation: &Client, args: AttendanceArgs) -> anyhow::Result<Rows> {
    let attendance = match args.mark {
        Mark::Attended => Attendance::Attended,
        Mark::PartlyAttended => Attendance::PartlyAttended,
        Mark::NoShow => Attendance::NoShow,
    };
    let marked = delegation
        .events()
        .mark_attendance(MarkAttendanceRequest {
            booking_id: args.booking,
            attendance: attendance as i32,
        })
        .await
        .map_err(refused("mark attendance"))?
        .into_inner();
    Ok(booking_rows(marked.booking))
}

/// Runs `lmsctl competencies`.
pub async fn competencies(delegation: &Client, command: CompetencyCommand) -> anyhow::Result<Rows> {
    let mut competencies = delegation.competencies();
    Ok(match command {
        CompetencyCommand::SignOff { course, user, note } => competency_rows(
            competencies
                .sign_off_competency(SignOffCompetencyRequest {
                    course_id: course,
                    user_id: user,
                    note,
                })
                .await
                .map_err(refused("sign off"))?
                .into_inner()
                .check,
        ),
        CompetencyCommand::List { course, user } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = competencies
                    .list_competency_checks(ListCompetencyChecksRequest {
                        course_id: course.clone(),
                        user_id: user.clone(),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list competency checks")?
                    .into_inner();
                all.extend(page.checks);
                if page.next_page_token.is_empty() {
                    break competency_rows(all);
                }
                page_token = page.next_page_token;
            }
        }
    })
}
