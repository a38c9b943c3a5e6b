//! Events and bookings over real gRPC: a manager books their team onto any unit's event and
//! nobody else, a restricted person is never booked, concurrent bookers on two replicas fill
//! exactly the places and wait in arrival order, an Event Administrator approves and marks
//! attendance, and a learner books only themselves.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::event_service_client::EventServiceClient;
use lms_api::delegation::v1::{
    AcknowledgeNotificationsRequest, ListNotificationsRequest, NotificationKind,
};
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, Attendance, BookUserRequest, Booking, BookingStatus,
    CancelBookingRequest, CancelEventRequest, CreateCourseRequest, CreateEventRequest,
    DecideBookingRequest, EnrolRequest, GetEventRequest, ListBookingsRequest, ListEventsRequest,
    MarkAttendanceRequest, Responsibility, ResponsibilityKind,
};
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    AddNamedManagerRequest, CreateUserRequest, NamedManagerPurpose, UpdateUserRequest, User,
};
use tonic::Code;

use super::fixture::{Platform, fields, new_user, reason};

/// A course of the tenant (or of `unit`), made by the administrator.
pub(super) async fn course(p: &Platform, unit: Option<&str>) -> String {
    p.courses(&p.admin)
        .create_course(CreateCourseRequest {
            title: "Forklift safety".into(),
            unit_id: unit.unwrap_or_default().into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id
}

/// An event of `course` starting `starts_in` seconds from now, made by the administrator.
pub(super) async fn event(
    p: &Platform,
    course: &str,
    capacity: i32,
    approval: bool,
    starts_in: i64,
) -> String {
    let now = lms_runtime::clock::now();
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let answer = p
        .events(&p.admin)
        .create_event(CreateEventRequest {
            course_id: course.into(),
            starts_at: at(now + starts_in),
            ends_at: at(now + starts_in + 3600),
            capacity,
            booking_requires_approval: approval,
            place: "Warehouse 2".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        answer.written_at.is_some(),
        "the event reached authorization"
    );
    let event = answer.event.unwrap();
    assert_eq!(
        event.title, "Forklift safety",
        "the course's title by default"
    );
    event.event_id
}

pub(super) async fn book(
    p: &Platform,
    token: &str,
    event: &str,
    user: &str,
) -> Result<Booking, tonic::Status> {
    book_on(&mut p.events(token), event, user).await
}

async fn book_on<T>(
    client: &mut EventServiceClient<T>,
    event: &str,
    user: &str,
) -> Result<Booking, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    client
        .book_user(BookUserRequest {
            event_id: event.into(),
            user_id: user.into(),
        })
        .await
        .map(|answer| answer.into_inner().booking.unwrap())
}

fn status(booking: &Booking) -> BookingStatus {
    BookingStatus::try_from(booking.status).unwrap()
}

async fn bookings(p: &Platform, token: &str, event: &str) -> Vec<Booking> {
    p.events(token)
        .list_bookings(ListBookingsRequest {
            event_id: event.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bookings
}

/// Bars `user` from booking, as their administrator would.
async fn bar(p: &Platform, user: &str) {
    UserServiceClient::new(p.identity.authorized(&p.admin))
        .update_user(UpdateUserRequest {
            user_id: user.into(),
            user: Some(User {
                restrict_bookings: true,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["restrict_bookings".into()],
            }),
        })
        .await
        .unwrap();
}

/// People of the tenant made without a password (no sign-in needed): their ids.
async fn people(p: &Platform, prefix: &str, n: usize) -> Vec<String> {
    let mut users = UserServiceClient::new(p.identity.authorized(&p.admin));
    let mut ids = Vec::new();
    for i in 0..n {
        let mut user = new_user(&format!("{prefix}{i}@academy.example"));
        user.password = String::new();
        let made = users
            .create_user(CreateUserRequest { user: Some(user) })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap();
        ids.push(made.user_id);
    }
    ids
}

#[tokio::test]
async fn a_manager_books_a_team_member_onto_another_unit_s_event_and_nobody_else() {
    let p = Platform::start().await;
    let (manager, manager_token) = p
        .person("manager@academy.example", Some("builtin:manager"), None)
        .await;
    let (member, member_token) = p.person("member@academy.example", None, None).await;
    let (barred, _) = p.person("barred@academy.example", None, None).await;
    let (outsider, _) = p.person("outsider@academy.example", None, None).await;
    p.team(&manager, &[member.clone(), barred.clone()]).await;
    bar(&p, &barred).await;
    // The event belongs to the North location's course; the manager is of no unit.
    let c = course(&p, Some(&p.location)).await;
    let e = event(&p, &c, 10, false, 86_400).await;

    let made = book(&p, &manager_token, &e, &member).await.unwrap();
    assert_eq!(status(&made), BookingStatus::Booked);
    assert_eq!(made.booked_by, manager);
    assert_eq!(made.history.len(), 1);
    let seen = p
        .events(&member_token)
        .get_event(GetEventRequest {
            event_id: e.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(seen.booked_count, 1, "the booked member sees their event");

    let refused = book(&p, &manager_token, &e, &outsider).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let barred_refusal = book(&p, &manager_token, &e, &barred).await.unwrap_err();
    assert_eq!(barred_refusal.code(), Code::FailedPrecondition);
    assert_eq!(reason(&barred_refusal), "BOOKINGS_RESTRICTED");
    let by_admin = book(&p, &p.admin, &e, &barred).await.unwrap_err();
    assert_eq!(reason(&by_admin), "BOOKINGS_RESTRICTED", "whoever books");
    let theirs = p
        .events(&manager_token)
        .list_bookings(ListBookingsRequest {
            user_id: member.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bookings;
    assert_eq!(theirs.len(), 1, "the manager reads their team's bookings");
    let whole = p
        .events(&manager_token)
        .list_bookings(ListBookingsRequest {
            event_id: e.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        whole.code(),
        Code::PermissionDenied,
        "not the whole event's"
    );
}

#[tokio::test]
async fn thirty_two_bookers_on_two_replicas_fill_ten_places_and_wait_in_arrival_order() {
    let p = Platform::start().await;
    let second = p.second_delegation().await;
    let c = course(&p, None).await;
    let e = event(&p, &c, 10, false, 86_400).await;
    let learners = people(&p, "booker", 32).await;
    let mut calls = Vec::new();
    for (i, learner) in learners.iter().enumerate() {
        let replica = if i % 2 == 0 { &p.delegation } else { &second };
        let mut client = EventServiceClient::new(replica.authorized(&p.admin));
        let (e, learner) = (e.clone(), learner.clone());
        calls.push(tokio::spawn(async move {
            book_on(&mut client, &e, &learner).await.unwrap()
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
    let all = bookings(&p, &p.admin, &e).await;
    assert_eq!(all.len(), 32);
    let arrivals: Vec<_> = all.iter().map(|b| b.arrival).collect();
    assert!(arrivals.windows(2).all(|w| w[0] < w[1]), "{arrivals:?}");
    let states: Vec<_> = all.iter().map(status).collect();
    assert_eq!(
        &states[..10],
        [BookingStatus::Booked; 10],
        "first ten arrivals"
    );
    assert_eq!(&states[10..], [BookingStatus::Waitlisted; 22]);

    let cancelled = p
        .events(&p.admin)
        .cancel_booking(CancelBookingRequest {
            booking_id: all[3].booking_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let promoted = cancelled.promoted.expect("the freed place is taken");
    assert_eq!(promoted.booking_id, all[10].booking_id, "first in line");
    assert_eq!(status(&promoted), BookingStatus::Booked);
    let got = p
        .events(&p.admin)
        .get_event(GetEventRequest { event_id: e })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!((got.booked_count, got.waitlisted_count), (10, 21));
}

#[tokio::test]
async fn an_event_administrator_approves_bookings_and_marks_attendance_and_a_learner_books_only_themselves()
 {
    let p = Platform::start().await;
    let c = course(&p, None).await;
    // Starts in ten minutes: attendance is open from half an hour before.
    let e = event(&p, &c, 5, true, 600).await;
    let (steward, steward_token) = p
        .person("steward@academy.example", Some("builtin:tutor"), None)
        .await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let (classmate, classmate_token) = p.person("classmate@academy.example", None, None).await;
    p.enrolments(&p.admin)
        .enrol(EnrolRequest {
            course_id: c.clone(),
            user_ids: vec![learner.clone(), classmate.clone()],
        })
        .await
        .unwrap();
    p.duties(&p.admin)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(Responsibility {
                kind: ResponsibilityKind::EventAdministrator as i32,
                user_id: steward.clone(),
                object: Some(ObjectReference {
                    r#type: ObjectType::Event as i32,
                    id: e.clone(),
                    tenant_id: String::new(),
                }),
                valid_from: None,
                valid_until: None,
            }),
        })
        .await
        .unwrap();

    // The learner sees the events of their course and asks for a place for themselves only.
    let listed = p
        .events(&learner_token)
        .list_events(ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(listed.len(), 1);
    let asked = book(&p, &learner_token, &e, "").await.unwrap();
    assert_eq!(status(&asked), BookingStatus::Requested);
    let classmate_refused = book(&p, &learner_token, &e, &classmate).await.unwrap_err();
    assert_eq!(classmate_refused.code(), Code::PermissionDenied);
    let self_approval = p
        .events(&learner_token)
        .decide_booking(DecideBookingRequest {
            booking_id: asked.booking_id.clone(),
            approve: true,
        })
        .await
        .unwrap_err();
    assert_eq!(self_approval.code(), Code::PermissionDenied);
    let peek = p
        .events(&learner_token)
        .list_bookings(ListBookingsRequest {
            event_id: e.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        peek.code(),
        Code::PermissionDenied,
        "no classmates' bookings"
    );

    let got = p
        .events(&steward_token)
        .get_event(GetEventRequest {
            event_id: e.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(got.administrator_user_ids, std::slice::from_ref(&steward));
    assert_eq!(got.requested_count, 1);

    // Barred after asking: the request is never approved.
    let theirs = book(&p, &classmate_token, &e, "").await.unwrap();
    bar(&p, &classmate).await;
    let barred = p
        .events(&steward_token)
        .decide_booking(DecideBookingRequest {
            booking_id: theirs.booking_id,
            approve: true,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&barred), "BOOKINGS_RESTRICTED");
    let approved = p
        .events(&steward_token)
        .decide_booking(DecideBookingRequest {
            booking_id: asked.booking_id.clone(),
            approve: true,
        })
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap();
    assert_eq!(status(&approved), BookingStatus::Booked);
    let again = p
        .events(&steward_token)
        .decide_booking(DecideBookingRequest {
            booking_id: asked.booking_id.clone(),
            approve: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "BOOKING_BOOKED");

    let marked = p
        .events(&steward_token)
        .mark_attendance(MarkAttendanceRequest {
            booking_id: asked.booking_id.clone(),
            attendance: Attendance::Attended as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap();
    assert_eq!(status(&marked), BookingStatus::Attended);
    let steps: Vec<_> = marked.history.iter().map(|t| t.status).collect();
    assert_eq!(
        steps,
        [
            BookingStatus::Requested as i32,
            BookingStatus::Booked as i32,
            BookingStatus::Attended as i32
        ]
    );
    let by_learner = p
        .events(&learner_token)
        .mark_attendance(MarkAttendanceRequest {
            booking_id: asked.booking_id.clone(),
            attendance: Attendance::NoShow as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(by_learner.code(), Code::PermissionDenied);
    let own = p
        .events(&learner_token)
        .list_bookings(ListBookingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .bookings;
    assert_eq!(own.len(), 1, "their own bookings");

    // Each heard of what concerns them; a mailer reads everyone's and acknowledges them.
    let platform = &p;
    let kinds = |token: String| async move {
        platform
            .notifications(&token)
            .list_notifications(ListNotificationsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .notifications
            .into_iter()
            .map(|n| NotificationKind::try_from(n.kind).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(steward_token.clone()).await,
        [
            NotificationKind::BookingRequested,
            NotificationKind::BookingRequested,
            NotificationKind::BookingMade
        ]
    );
    assert_eq!(
        kinds(learner_token.clone()).await,
        [NotificationKind::BookingMade]
    );
    // An account a person made reaches no further than them: the admin's notices only.
    let held = p
        .integration("admin-mailer", &["delegation.notifications.read"])
        .await;
    let admins = p
        .notifications(&held)
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notifications;
    assert!(admins.is_empty(), "{admins:?}");
    let mailer = p
        .operator_integration("mailer", &["delegation.notifications.read"])
        .await;
    let pending = p
        .notifications(&mailer)
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notifications;
    assert!(pending.iter().any(|n| n.recipient_user_id == learner));
    assert!(
        pending
            .iter()
            .all(|n| [&learner, &classmate].contains(&&n.learner_user_id))
    );
    let acknowledged = p
        .notifications(&mailer)
        .acknowledge_notifications(AcknowledgeNotificationsRequest {
            notification_ids: pending.iter().map(|n| n.notification_id.clone()).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .acknowledged;
    assert_eq!(acknowledged as usize, pending.len());
    assert!(
        kinds(learner_token).await.is_empty(),
        "sent, no longer pending"
    );
    let without_scope = p
        .integration("player", &["delegation.progress.record"])
        .await;
    let refused = p
        .notifications(&without_scope)
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn bad_input_names_the_field_and_a_state_that_forbids_a_change_is_named() {
    let p = Platform::start().await;
    let c = course(&p, None).await;
    let now = lms_runtime::clock::now();
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let cases = [
        (at(now + 100), at(now + 50), 0, "ends_at"),
        (None, at(now + 50), 0, "starts_at"),
        (at(now + 100), at(now + 200), -1, "capacity"),
    ];
    for (starts_at, ends_at, capacity, field) in cases {
        let refused = p
            .events(&p.admin)
            .create_event(CreateEventRequest {
                course_id: c.clone(),
                starts_at,
                ends_at,
                capacity,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), [field]);
    }
    let bad_id = book(&p, &p.admin, "not-an-id", "").await.unwrap_err();
    assert_eq!(fields(&bad_id), ["event_id"]);

    let e = event(&p, &c, 1, false, 86_400).await;
    let learners = people(&p, "state", 3).await;
    let held = book(&p, &p.admin, &e, &learners[0]).await.unwrap();
    let unmarked = p
        .events(&p.admin)
        .mark_attendance(MarkAttendanceRequest {
            booking_id: held.booking_id.clone(),
            attendance: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&unmarked), ["attendance"]);
    let early = p
        .events(&p.admin)
        .mark_attendance(MarkAttendanceRequest {
            booking_id: held.booking_id.clone(),
            attendance: Attendance::Attended as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "ATTENDANCE_NOT_OPEN");

    let called_off = p
        .events(&p.admin)
        .cancel_event(CancelEventRequest {
            event_id: e.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(called_off.cancelled_bookings, 1);
    let onto_cancelled = book(&p, &p.admin, &e, &learners[1]).await.unwrap_err();
    assert_eq!(onto_cancelled.code(), Code::FailedPrecondition);
    assert_eq!(reason(&onto_cancelled), "EVENT_CANCELLED");
    let twice = p
        .events(&p.admin)
        .cancel_booking(CancelBookingRequest {
            booking_id: held.booking_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "BOOKING_CANCELLED");

    let small = event_without_waitlist(&p, &c).await;
    book(&p, &p.admin, &small, &learners[1]).await.unwrap();
    let full = book(&p, &p.admin, &small, &learners[2]).await.unwrap_err();
    assert_eq!(reason(&full), "EVENT_FULL");
    assert_eq!(
        bookings(&p, &p.admin, &small).await.len(),
        1,
        "nothing half-written"
    );
}

async fn event_without_waitlist(p: &Platform, course: &str) -> String {
    let now = lms_runtime::clock::now();
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    p.events(&p.admin)
        .create_event(CreateEventRequest {
            course_id: course.into(),
            starts_at: at(now + 86_400),
            ends_at: at(now + 90_000),
            capacity: 1,
            waitlist_disabled: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap()
        .event_id
}

#[tokio::test]
async fn a_learner_cancelling_sees_only_their_own_booking_and_a_past_event_is_closed() {
    let p = Platform::start().await;
    let c = course(&p, None).await;
    let e = event(&p, &c, 1, false, 86_400).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let waiting = people(&p, "waiting", 1).await;
    let held = book(&p, &p.admin, &e, &learner).await.unwrap();
    let queued = book(&p, &p.admin, &e, &waiting[0]).await.unwrap();
    assert_eq!(status(&queued), BookingStatus::Waitlisted);
    let cancelled = p
        .events(&learner_token)
        .cancel_booking(CancelBookingRequest {
            booking_id: held.booking_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status(&cancelled.booking.unwrap()),
        BookingStatus::Cancelled
    );
    assert!(
        cancelled.promoted.is_none(),
        "who took the place is not theirs to see"
    );
    let now_booked = bookings(&p, &p.admin, &e).await;
    assert_eq!(
        status(&now_booked[1]),
        BookingStatus::Booked,
        "yet it was taken"
    );

    let nobody = book(
        &p,
        &p.admin,
        &e,
        &lms_kernel::UserId::generate().to_string(),
    )
    .await
    .unwrap_err();
    assert_eq!(nobody.code(), Code::NotFound, "{nobody:?}");

    // An event that has taken place takes no booking and is not called off.
    let past = event(&p, &c, 5, false, -7_200).await;
    let late = book(&p, &p.admin, &past, &waiting[0]).await.unwrap_err();
    assert_eq!(reason(&late), "EVENT_ENDED");
    let over = p
        .events(&p.admin)
        .cancel_event(CancelEventRequest { event_id: past })
        .await
        .unwrap_err();
    assert_eq!(reason(&over), "EVENT_ENDED");
}

#[tokio::test]
async fn the_learner_s_named_managers_hear_of_their_booking_and_no_one_else() {
    let p = Platform::start().await;
    let c = course(&p, None).await;
    let e = event(&p, &c, 5, false, 86_400).await;
    let (learner, learner_token) = p.person("booker@academy.example", None, None).await;
    let (mentor, mentor_token) = p.person("mentor@academy.example", None, None).await;
    let (bystander, bystander_token) = p.person("bystander@academy.example", None, None).await;
    let (other_learner, _) = p.person("other@academy.example", None, None).await;
    // The mentor receives updates about the learner; the bystander about someone else.
    for (named, over) in [(&mentor, &learner), (&bystander, &other_learner)] {
        p.users(&p.admin)
            .add_named_manager(AddNamedManagerRequest {
                user_id: named.clone(),
                target: Some(ObjectReference {
                    r#type: ObjectType::User as i32,
                    id: over.clone(),
                    tenant_id: String::new(),
                }),
                purpose: NamedManagerPurpose::ReceivesUpdates as i32,
            })
            .await
            .unwrap();
    }

    p.enrolments(&p.admin)
        .enrol(EnrolRequest {
            course_id: c.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap();
    book(&p, &learner_token, &e, "").await.unwrap();
    let pending = |token: String| {
        let mut client = p.notifications(&token);
        async move {
            client
                .list_notifications(ListNotificationsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .notifications
        }
    };
    // The fan-out asks identity in the background: within a few of its rounds.
    let mut told = Vec::new();
    for _ in 0..50 {
        told = pending(mentor_token.clone()).await;
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].kind(), NotificationKind::BookingMade);
    assert_eq!(
        (told[0].learner_user_id.as_str(), told[0].event_id.as_str()),
        (learner.as_str(), e.as_str())
    );
    assert_eq!(
        pending(learner_token).await.len(),
        1,
        "the learner's own, once"
    );
    assert!(pending(bystander_token).await.is_empty());
}
