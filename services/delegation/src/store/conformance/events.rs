use lms_kernel::{
    Attendance, BookingState, CourseId, EventId, EventStatus, Removal, TenantId, UserId,
};

use super::{audit, course, someone, stored};
use crate::store::{
    Booked, BookingFilter, CompetencyFilter, CompetencyRecord, EventFilter, EventRecord, Store,
    StoreError, ToBook, Unbooked,
};

/// An event of `course` from t=10000 to t=20000, not yet stored.
fn event(course: CourseId, capacity: u32, requires_approval: bool) -> EventRecord {
    EventRecord {
        id: EventId::generate(),
        course,
        title: "Session".into(),
        place: "Room 1".into(),
        starts_at: 10_000,
        ends_at: 20_000,
        capacity,
        requires_approval,
        waitlist: true,
        status: EventStatus::Scheduled,
        created_by: "test".into(),
        created_at: 1,
        cancelled_at: None,
    }
}

/// A stored course with one stored event.
async fn scheduled<S: Store>(
    store: &S,
    tenant: TenantId,
    capacity: u32,
    requires_approval: bool,
) -> EventRecord {
    let c = course("With events");
    stored(store, tenant, &c).await;
    let e = event(c.id, capacity, requires_approval);
    store
        .create_event(tenant, &e, &super::an_event(), &audit("event.created"))
        .await
        .unwrap();
    e
}

async fn book<S: Store>(
    store: &S,
    tenant: TenantId,
    event: EventId,
    user: UserId,
    at: i64,
) -> Result<Booked, StoreError> {
    store
        .book(
            tenant,
            ToBook {
                event,
                user,
                by: "test",
                at,
            },
            |_, _| super::an_event(),
            &audit("booking.made"),
        )
        .await
}

async fn unbook<S: Store>(
    store: &S,
    tenant: TenantId,
    booked: &Booked,
) -> Result<Unbooked, StoreError> {
    store
        .cancel_booking(
            tenant,
            booked.booking.id,
            50,
            |_, _| super::an_event(),
            &audit("booking.cancelled"),
        )
        .await
}

fn refusal(error: StoreError) -> &'static str {
    match error {
        StoreError::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other}"),
    }
}

async fn states<S: Store>(store: &S, tenant: TenantId, event: EventId) -> Vec<BookingState> {
    let filter = BookingFilter {
        event: Some(event),
        ..Default::default()
    };
    store
        .bookings(tenant, &filter, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.state)
        .collect()
}

pub async fn an_event_is_read_within_its_tenant_with_its_tally<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 1, false).await;
    book(&store, tenant, e.id, someone(), 10).await.unwrap();
    book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let (read, tally) = store.event(tenant, e.id).await.unwrap().unwrap();
    assert_eq!(read, e);
    assert_eq!((tally.booked, tally.waitlisted, tally.requested), (1, 1, 0));
    assert!(
        store
            .event(TenantId::generate(), e.id)
            .await
            .unwrap()
            .is_none()
    );
    let other = scheduled(&store, tenant, 0, false).await;
    let of_course = EventFilter {
        course: Some(other.course),
        ..Default::default()
    };
    let listed: Vec<_> = store
        .events(tenant, &of_course, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(e, _)| e.id)
        .collect();
    assert_eq!(listed, [other.id]);
    let only = EventFilter {
        only: Some(vec![e.id]),
        ..Default::default()
    };
    assert_eq!(store.events(tenant, &only, 10).await.unwrap().len(), 1);
}

pub async fn a_course_with_events_is_archived_not_erased<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 0, false).await;
    let removed = store
        .remove_course(
            tenant,
            e.course,
            5,
            |_| Vec::new(),
            &audit("course.deleted"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.removal, Removal::Archive);
    assert!(store.event(tenant, e.id).await.unwrap().is_some());
    let refused = book(&store, tenant, e.id, someone(), 10).await.unwrap_err();
    assert_eq!(refusal(refused), "ARCHIVED");
    let archived = event(e.course, 0, false);
    let refused = store
        .create_event(tenant, &archived, &[], &audit("event.created"))
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "ARCHIVED");
}

pub async fn concurrent_bookers_never_exceed_the_places_and_wait_in_arrival_order<
    S: Store + Clone,
>(
    store: S,
) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 3, false).await;
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { book(&store, tenant, e.id, someone(), 10).await })
        })
        .collect();
    for attempt in attempts {
        assert!(attempt.await.unwrap().unwrap().created);
    }
    let filter = BookingFilter {
        event: Some(e.id),
        ..Default::default()
    };
    let all = store.bookings(tenant, &filter, 100).await.unwrap();
    let arrivals: Vec<_> = all.iter().map(|b| b.arrival).collect();
    assert_eq!(arrivals, (1..=12).collect::<Vec<_>>(), "one arrival each");
    let seats: Vec<_> = all.iter().map(|b| b.state).collect();
    let mut expected = vec![BookingState::Booked; 3];
    expected.extend([BookingState::Waitlisted; 9]);
    assert_eq!(seats, expected, "the first three arrivals hold the places");
}

pub async fn booking_again_answers_the_current_booking<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 0, false).await;
    let learner = someone();
    let first = book(&store, tenant, e.id, learner, 10).await.unwrap();
    let again = book(&store, tenant, e.id, learner, 11).await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(again.booking, first.booking);
    unbook(&store, tenant, &first).await.unwrap();
    let after = book(&store, tenant, e.id, learner, 60).await.unwrap();
    assert!(after.created, "a cancelled booking is history");
    assert_ne!(after.booking.id, first.booking.id);
}

pub async fn a_cancelled_place_goes_to_the_first_waiting<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 1, false).await;
    let holder = book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let first = book(&store, tenant, e.id, someone(), 11).await.unwrap();
    let second = book(&store, tenant, e.id, someone(), 12).await.unwrap();
    assert_eq!(first.booking.state, BookingState::Waitlisted);
    let unbooked = unbook(&store, tenant, &holder).await.unwrap();
    assert_eq!(unbooked.was, BookingState::Booked);
    let promoted = unbooked
        .promoted
        .expect("the first waiting takes the place");
    assert_eq!(promoted.id, first.booking.id);
    assert_eq!(promoted.state, BookingState::Booked);
    let history: Vec<_> = promoted.history().into_iter().map(|(s, _)| s).collect();
    assert_eq!(history, [BookingState::Waitlisted, BookingState::Booked]);
    // A waiting booking cancelled frees no place.
    let gone = unbook(&store, tenant, &second).await.unwrap();
    assert!(gone.promoted.is_none());
    let refused = unbook(&store, tenant, &second).await.unwrap_err();
    assert_eq!(refusal(refused), "BOOKING_CANCELLED");
}

pub async fn a_full_event_without_a_waitlist_refuses_further_bookings<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Small room");
    stored(&store, tenant, &c).await;
    let mut e = event(c.id, 1, false);
    e.waitlist = false;
    store
        .create_event(tenant, &e, &[], &audit("event.created"))
        .await
        .unwrap();
    book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let refused = book(&store, tenant, e.id, someone(), 10).await.unwrap_err();
    assert_eq!(refusal(refused), "EVENT_FULL");
    assert_eq!(states(&store, tenant, e.id).await, [BookingState::Booked]);
}

pub async fn a_request_waits_for_a_decision_made_once<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 1, true).await;
    let first = book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let second = book(&store, tenant, e.id, someone(), 10).await.unwrap();
    assert_eq!(first.booking.state, BookingState::Requested);
    let store = &store;
    let decide = |booking, approve| async move {
        store
            .decide_booking(
                tenant,
                booking,
                approve,
                20,
                |_, _| super::an_event(),
                &audit("booking.decided"),
            )
            .await
    };
    let approved = decide(first.booking.id, true).await.unwrap();
    assert_eq!(approved.state, BookingState::Booked);
    let full = decide(second.booking.id, true).await.unwrap();
    assert_eq!(
        full.state,
        BookingState::Waitlisted,
        "approved into a full event"
    );
    let refused = decide(first.booking.id, false).await.unwrap_err();
    assert_eq!(refusal(refused), "BOOKING_BOOKED");
    let missing = decide(lms_kernel::BookingId::generate(), true).await;
    assert!(matches!(missing, Err(StoreError::Missing { .. })));
}

pub async fn a_cancelled_or_ended_event_takes_no_booking_and_cancels_its_own<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 0, false).await;
    let refused = book(&store, tenant, e.id, someone(), 20_000)
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "EVENT_ENDED");
    book(&store, tenant, e.id, someone(), 10).await.unwrap();
    book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let called_off = store
        .cancel_event(
            tenant,
            e.id,
            30,
            |_| super::an_event(),
            &audit("event.cancelled"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called_off.event.status, EventStatus::Cancelled);
    assert_eq!(called_off.bookings.len(), 2);
    assert!(
        called_off
            .bookings
            .iter()
            .all(|(b, was)| b.state == BookingState::Cancelled && *was == BookingState::Booked)
    );
    assert_eq!(
        states(&store, tenant, e.id).await,
        [BookingState::Cancelled; 2]
    );
    let refused = book(&store, tenant, e.id, someone(), 10).await.unwrap_err();
    assert_eq!(refusal(refused), "EVENT_CANCELLED");
    let again = store
        .cancel_event(tenant, e.id, 31, |_| Vec::new(), &audit("event.cancelled"))
        .await
        .unwrap_err();
    assert_eq!(refusal(again), "EVENT_CANCELLED");
    let nothing = store
        .cancel_event(
            tenant,
            EventId::generate(),
            31,
            |_| Vec::new(),
            &audit("event.cancelled"),
        )
        .await
        .unwrap();
    assert!(nothing.is_none());
}

pub async fn attendance_is_marked_on_a_held_place_from_shortly_before_the_start<S: Store>(
    store: S,
) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 1, false).await;
    let held = book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let waiting = book(&store, tenant, e.id, someone(), 10).await.unwrap();
    let marking = &store;
    let mark = |booking, attendance, now| async move {
        marking
            .mark_attendance(tenant, booking, attendance, now, &audit("booking.marked"))
            .await
    };
    let early = mark(held.booking.id, Attendance::Attended, 100)
        .await
        .unwrap_err();
    assert_eq!(refusal(early), "ATTENDANCE_NOT_OPEN");
    let marked = mark(held.booking.id, Attendance::NoShow, 10_000 - 60)
        .await
        .unwrap();
    assert_eq!(marked.state, BookingState::NoShow);
    let corrected = mark(held.booking.id, Attendance::Attended, 15_000)
        .await
        .unwrap();
    assert_eq!(corrected.state, BookingState::Attended);
    let refused = mark(waiting.booking.id, Attendance::Attended, 15_000)
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "BOOKING_WAITLISTED");
    let refused = unbook(&store, tenant, &held).await.unwrap_err();
    assert_eq!(refusal(refused), "BOOKING_ATTENDED");
}

pub async fn a_competency_is_signed_off_once_for_an_enrolled_learner<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Skills");
    stored(&store, tenant, &c).await;
    let learner = someone();
    let check = |user| CompetencyRecord {
        id: lms_kernel::CompetencyCheckId::generate(),
        course: c.id,
        user,
        note: "safe".into(),
        signed_off_by: "tutor".into(),
        signed_off_at: 5,
    };
    let store = &store;
    let sign = |record: CompetencyRecord| async move {
        store
            .sign_off(
                tenant,
                &record,
                |_| Vec::new(),
                &audit("competency.signed_off"),
            )
            .await
    };
    let refused = sign(check(learner)).await.unwrap_err();
    assert_eq!(refusal(refused), "NOT_ENROLLED");
    store
        .enrol(
            tenant,
            crate::store::ToEnrol {
                course: c.id,
                users: &[learner],
                by: "test",
                at: 1,
            },
            |_| Vec::new(),
            &audit("enrolment.enrolled"),
        )
        .await
        .unwrap();
    let first = check(learner);
    let (stored_check, created) = sign(first.clone()).await.unwrap();
    assert!(created);
    assert_eq!(stored_check, first);
    let (again, created) = sign(check(learner)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id, "the first sign-off stands");
    let by_course = CompetencyFilter {
        course: Some(c.id),
        ..Default::default()
    };
    assert_eq!(
        store
            .competency_checks(tenant, &by_course, 10)
            .await
            .unwrap(),
        [first]
    );
    let other = CompetencyFilter {
        user: Some(someone()),
        ..Default::default()
    };
    assert!(
        store
            .competency_checks(tenant, &other, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_event_administrator_is_given_only_on_a_scheduled_event<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 0, false).await;
    let duty = |object| crate::store::ResponsibilityRecord {
        kind: lms_kernel::Responsibility::EventAdministrator,
        object,
        user: someone(),
        window: lms_kernel::Window::ALWAYS,
        assigned_by: "test".into(),
        assigned_at: 1,
    };
    let store = &store;
    let give = |record: crate::store::ResponsibilityRecord| async move {
        store
            .give_responsibility(tenant, &record, 1, &[], &audit("responsibility.given"))
            .await
    };
    give(duty(e.id.as_uuid())).await.unwrap();
    let missing = give(duty(EventId::generate().as_uuid())).await;
    assert!(matches!(
        missing,
        Err(StoreError::Missing { what: "event", .. })
    ));
    store
        .cancel_event(tenant, e.id, 2, |_| Vec::new(), &audit("event.cancelled"))
        .await
        .unwrap();
    let refused = give(duty(e.id.as_uuid())).await.unwrap_err();
    assert_eq!(refusal(refused), "EVENT_CANCELLED");
}

pub async fn notices_reach_the_people_a_booking_concerns_until_acknowledged<S: Store>(store: S) {
    use crate::notices::NoticeKind;
    use crate::store::NotificationFilter;

    let tenant = TenantId::generate();
    let e = scheduled(&store, tenant, 5, true).await;
    let (tutor, steward, learner) = (someone(), someone(), someone());
    for (kind, object, user) in [
        (
            lms_kernel::Responsibility::CourseTutor,
            e.course.as_uuid(),
            tutor,
        ),
        (
            lms_kernel::Responsibility::EventAdministrator,
            e.id.as_uuid(),
            steward,
        ),
    ] {
        let duty = crate::store::ResponsibilityRecord {
            kind,
            object,
            user,
            window: lms_kernel::Window::ALWAYS,
            assigned_by: "test".into(),
            assigned_at: 1,
        };
        store
            .give_responsibility(tenant, &duty, 1, &[], &audit("responsibility.given"))
            .await
            .unwrap();
    }
    let asked = book(&store, tenant, e.id, learner, 10).await.unwrap();
    store
        .decide_booking(
            tenant,
            asked.booking.id,
            true,
            11,
            |_, _| Vec::new(),
            &audit("booking.approved"),
        )
        .await
        .unwrap();
    let pending = |recipient| {
        let filter = NotificationFilter {
            recipient,
            after: None,
        };
        store.notifications(tenant, filter, 100)
    };
    let seen: Vec<_> = pending(None)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind, n.recipient))
        .collect();
    assert_eq!(
        seen,
        [
            (NoticeKind::BookingRequested, steward),
            (NoticeKind::BookingRequested, tutor),
            (NoticeKind::BookingMade, learner),
            (NoticeKind::BookingMade, steward),
        ]
    );
    let theirs = pending(Some(learner)).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].object, asked.booking.id.as_uuid());
    assert_eq!(theirs[0].event, Some(e.id));
    let ids = [theirs[0].id];
    let not_theirs = store.acknowledge(tenant, Some(steward), &ids, 12).await;
    assert_eq!(not_theirs.unwrap(), 0, "only the recipient's own");
    assert_eq!(
        store
            .acknowledge(tenant, Some(learner), &ids, 12)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.acknowledge(tenant, None, &ids, 13).await.unwrap(), 0);
    assert!(pending(Some(learner)).await.unwrap().is_empty());
    assert_eq!(pending(None).await.unwrap().len(), 3);
    let elsewhere = store
        .notifications(TenantId::generate(), NotificationFilter::default(), 100)
        .await
        .unwrap();
    assert!(elsewhere.is_empty(), "a tenant reads only its own");
}
