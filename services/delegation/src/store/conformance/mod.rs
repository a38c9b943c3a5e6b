//! The delegation store's behaviours, run against PostgreSQL and SQLite alike
//! (`lms_testkit::store_conformance!` below): the dialects differ in types and locking, so each
//! backend proves them here. Cases are grouped by aggregate.

use lms_kernel::{CourseId, CourseStatus, LessonId, TenantId, UserId};

use super::{CourseRecord, LessonRecord, NewEvent, Store};
use crate::audit::{Actor, Audit};

mod audit;
mod catalogues;
mod courses;
mod enrolments;
mod events;
mod grants;
mod notifications;
mod purchases;
mod responsibilities;

/// An active tenant course, not yet stored.
pub(super) fn course(title: &str) -> CourseRecord {
    CourseRecord {
        id: CourseId::generate(),
        unit: None,
        title: title.into(),
        description: String::new(),
        requires_approval: false,
        status: CourseStatus::Active,
        ever_enrolled: false,
        created_by: "test".into(),
        created_at: 1,
        updated_at: 1,
    }
}

/// A lesson of `course`, not yet stored.
pub(super) fn lesson(course: CourseId, title: &str) -> LessonRecord {
    LessonRecord {
        id: LessonId::generate(),
        course,
        title: title.into(),
        position: 0,
        created_at: 1,
    }
}

/// A test's audit record.
pub(super) fn audit(action: &'static str) -> Audit {
    Actor::Service("conformance".into()).did(action, "test", "x")
}

/// `course` stored in `tenant` with no events.
pub(super) async fn stored<S: Store>(store: &S, tenant: TenantId, course: &CourseRecord) {
    store
        .create_course(tenant, course, &[], &audit("course.created"))
        .await
        .unwrap();
}

/// Titles of `course`'s lessons, in order.
pub(super) async fn titles<S: Store>(store: &S, tenant: TenantId, course: CourseId) -> Vec<String> {
    let lessons = store.lessons(tenant, course).await.unwrap();
    for (i, lesson) in lessons.iter().enumerate() {
        assert_eq!(lesson.position as usize, i + 1, "positions stay 1..n");
    }
    lessons.into_iter().map(|l| l.title).collect()
}

/// A facts event with nothing in it (the outbox's part of a write).
pub(super) fn an_event() -> Vec<NewEvent> {
    vec![lms_runtime::outbox::facts(Default::default())]
}

pub(super) fn someone() -> UserId {
    UserId::generate()
}

lms_testkit::store_conformance! {
    migrations: crate::MIGRATIONS,
    postgres: crate::store::PgStore::new,
    sqlite: crate::store::SqliteStore::new,
    cases: {
        audit: [
            the_trail_reads_newest_first_and_pages_below_a_token,
            the_trail_filters_by_object_person_and_action,
            a_tenant_reads_only_its_own_trail,
        ],
        catalogues: [
            deploying_offers_each_course_to_each_new_learner_once,
            an_offer_ends_only_when_no_catalogue_holds_it_any_more,
            a_learner_lists_only_the_catalogues_deployed_to_them,
            a_missing_course_leaves_no_catalogue_and_an_erased_course_ends_its_offers,
        ],
        courses: [
            courses_are_read_only_within_their_tenant,
            listing_pages_in_id_order_and_filters_by_visible_ids,
            an_update_changes_only_the_named_fields,
            an_archived_course_refuses_changes,
            a_course_nobody_enrolled_on_is_erased_with_its_lessons,
            a_course_someone_enrolled_on_is_archived_and_kept,
            lessons_keep_a_dense_order_through_inserts_moves_and_deletes,
            a_lesson_position_past_the_end_is_refused,
            assigning_a_lesson_twice_counts_once,
        ],
        enrolments: [
            enrolling_again_enrols_nobody_twice_and_marks_the_course,
            concurrent_enrolment_of_one_learner_leaves_one_open_enrolment,
            re_enrolment_makes_a_new_record_and_keeps_the_old,
            only_an_open_enrolment_is_withdrawn,
            a_missing_or_archived_course_takes_no_enrolment,
            asking_to_join_enrols_at_once_or_waits_once_for_approval,
            a_request_is_decided_once_and_an_approval_enrols,
            progress_is_idempotent_by_attempt_and_never_moves_a_completion_back,
            a_late_report_of_an_old_attempt_stays_with_its_enrolment,
            enrolments_list_in_the_order_made_by_course_or_learner,
        ],
        events: [
            an_event_is_read_within_its_tenant_with_its_tally,
            a_course_with_events_is_archived_not_erased,
            concurrent_bookers_never_exceed_the_places_and_wait_in_arrival_order,
            booking_again_answers_the_current_booking,
            a_cancelled_place_goes_to_the_first_waiting,
            a_full_event_without_a_waitlist_refuses_further_bookings,
            a_request_waits_for_a_decision_made_once,
            a_cancelled_or_ended_event_takes_no_booking_and_cancels_its_own,
            attendance_is_marked_on_a_held_place_from_shortly_before_the_start,
            a_competency_is_signed_off_once_for_an_enrolled_learner,
            an_event_administrator_is_given_only_on_a_scheduled_event,
            notices_reach_the_people_a_booking_concerns_until_acknowledged,
        ],
        grants: [
            a_course_is_granted_once_to_each_client_and_only_while_active,
            a_client_takes_a_granted_course_only_while_the_grant_is_in_effect,
            a_granted_course_is_never_erased,
            grants_are_the_master_s_listed_by_client_and_changed_in_place,
            a_catalogue_s_courses_are_granted_together_leaving_those_granted_before,
        ],
        notifications: [
            a_notice_reaches_the_named_managers_once_through_the_queue,
        ],
        purchases: [
            an_order_is_placed_once_by_its_shop_id_and_a_delivery_once_by_its_id,
            a_delivery_s_orders_are_placed_all_or_none,
            seats_are_offered_one_invitation_each_and_taken_only_by_accepting,
            a_webhook_secret_moves_one_generation_per_rotation,
            one_order_delivered_twice_at_once_is_placed_once,
        ],
        responsibilities: [
            a_course_has_one_tutor_at_a_time,
            cover_fits_around_the_tutor_s_window,
            concurrent_tutors_for_one_course_leave_exactly_one,
            giving_again_replaces_the_window,
            taking_away_answers_what_was_held,
            a_missing_or_archived_course_takes_no_responsibility,
        ],
    }
}
