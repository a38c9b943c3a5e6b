//! Enrolling people directly, as the person acting: what Enrol and DeployCourse share. Each
//! learner is decided on by authorization (`enrolments.create` on them: a manager their team, a
//! Local Administrator their location), a thousand at a time in one BatchCheck, before anything
//! is written; all are enrolled in one transaction or none; the facts reach authorization, a
//! thousand to an event, before the answer.

use lms_api::common::v1::{ConsistencyToken, ObjectType};
use lms_kernel::enrolment::direct_enrolment_needs_approval;
use lms_kernel::{CourseId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::Acting;
use lms_runtime::clock::now;

use crate::audit::Actor;
use crate::convert::reference;
use crate::core::Core;
use crate::relationships;
use crate::store::{EnrolmentRecord, Store, ToEnrol};

/// Learners one request may name (a deployment reaches more through its groups).
pub const MAX_NAMED_USERS: usize = 1000;

/// Who to enrol on which course, and who asks.
#[derive(Debug)]
pub struct Enrolling<'a> {
    /// The person acting.
    pub acting: &'a Acting,
    /// The same, as the audit trail names them.
    pub actor: &'a Actor,
    /// The course.
    pub course: CourseId,
    /// The learners, each once.
    pub users: &'a [UserId],
    /// The request field that named them, for refusals.
    pub field: &'a str,
}

/// What enrolling did.
#[derive(Debug)]
pub struct Enrolled {
    /// The enrolments made (those enrolled already were left as they were).
    pub made: Vec<EnrolmentRecord>,
    /// Authorization's token covering their facts.
    pub written_at: Option<ConsistencyToken>,
}

impl<S: Store> Core<S> {
    /// Enrols `what.users` on `what.course` as `what.acting`: refused whole (PERMISSION_DENIED
    /// naming the learners, NOT_FOUND naming ids no person has) unless authorization allows
    /// every one; enrolling oneself on a course that needs approval also needs the right to
    /// approve there (the kernel's rule). Nothing is written on any refusal.
    pub async fn enrol_people(&self, what: Enrolling<'_>) -> Result<Enrolled, ApiError> {
        let acting = what.acting;
        let people = what
            .users
            .iter()
            .map(|user| reference(ObjectType::User, *user))
            .collect();
        self.authorization
            .require_each(acting, Permission::EnrolmentsCreate, what.field, people)
            .await?;
        let course = self
            .store
            .course(acting.tenant, what.course)
            .await?
            .ok_or_else(|| ApiError::not_found("course", what.course.to_string()))?;
        let enrols_self = what.users.contains(&acting.user);
        if direct_enrolment_needs_approval(course.requires_approval, enrols_self) {
            self.authorization
                .require(
                    acting,
                    Permission::EnrolmentsApprove,
                    reference(ObjectType::Course, what.course),
                )
                .await?;
        }
        let audit = what.actor.did("enrolment.enrolled", "enrolment", "");
        let made = self
            .store
            .enrol(
                acting.tenant,
                ToEnrol {
                    course: what.course,
                    users: what.users,
                    by: &what.actor.label(),
                    at: now(),
                },
                relationships::enrolments_made,
                &audit,
            )
            .await?;
        Ok(Enrolled {
            made,
            written_at: self.deliver(acting.tenant).await,
        })
    }
}
