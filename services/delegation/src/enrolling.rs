//! Enrolling people directly, as the person acting: what Enrol and DeployCourse share. Each
//! learner is decided on by authorization (`enrolments.create` on them: a manager their team, a
//! Local Administrator their location) before anything is written: people named by id in one
//! BatchCheck per thousand (which also tells an id nobody has); a deployment's group members,
//! whom identity vouches for, in one lookup when the caller may enrol anyone in the tenant, else
//! in BatchChecks too. A deployment was decided on the course itself (`courses.deploy`: its
//! Course Tutor and administrators, DESIGN §1): they deploy it to whoever they name, and only
//! ids nobody has are refused. A teacher's grant of content access needs `content_access.grant`
//! on the course and on every student (only approved teachers hold it, DESIGN §1), decided fully
//! consistently like every other. Enrolling oneself needs to see the course, as asking to join
//! does. All are enrolled in one transaction or none; the facts reach authorization, a thousand
//! to an event, before the answer.

use lms_api::common::v1::{ConsistencyToken, ObjectReference, ObjectType};
use lms_kernel::enrolment::direct_enrolment_needs_approval;
use lms_kernel::{CourseId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::Acting;
use lms_runtime::clock::now;
use lms_runtime::peers::Visible;

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
    /// Learners named by id (`user_ids`), each once: an id may name nobody.
    pub named: &'a [UserId],
    /// Members of the groups named (`group_ids`) as identity listed them, each once and none
    /// of them named: people of the tenant.
    pub members: &'a [UserId],
    /// How the enrolling is decided.
    pub decided_by: DecidedBy,
}

/// How enrolling people is decided on: each way is a different duty of a different role.
#[derive(Clone, Debug)]
pub enum DecidedBy {
    /// `enrolments.create` on each person (Enrol): a manager their team, a Local
    /// Administrator their location.
    EnrolmentsCreate,
    /// The acting person was allowed `courses.deploy` on the course (DeployCourse): they may
    /// enrol any person of the tenant on it (not `enrolments.create` on the course, which every
    /// learner enrolled there holds for their own learning).
    CoursesDeploy,
    /// `content_access.grant` on the course and on each person (GrantContentAccess).
    ContentAccessGrant,
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
    /// Enrols `what`'s learners on its course as `what.acting`: refused whole (PERMISSION_DENIED
    /// naming the learners, NOT_FOUND naming ids no person has) unless authorization allows
    /// every one; enrolling oneself on a course that needs approval also needs the right to
    /// approve there (the kernel's rule). Nothing is written on any refusal.
    pub async fn enrol_people(&self, what: Enrolling<'_>) -> Result<Enrolled, ApiError> {
        let acting = what.acting;
        let mut action = "enrolment.enrolled";
        match what.decided_by {
            DecidedBy::EnrolmentsCreate => {
                self.may_enrol_all(acting, what.named, what.members).await?;
            }
            DecidedBy::CoursesDeploy => {
                self.authorization
                    .require_known(acting, Permission::EnrolmentsCreate, people(what.named))
                    .await?;
            }
            DecidedBy::ContentAccessGrant => {
                let permission = Permission::ContentAccessGrant;
                action = "enrolment.content_granted";
                // The course first: a caller without the duty learns nothing about the people.
                self.authorization
                    .require(
                        acting,
                        permission,
                        reference(ObjectType::Course, what.course),
                    )
                    .await?;
                let students = [what.named, what.members].concat();
                self.authorization
                    .require_each(acting, permission, "user_ids", people(&students))
                    .await?;
            }
        }
        let users = [what.named, what.members].concat();
        let enrols_self = users.contains(&acting.user);
        let (taken, seen) = self.takeable(acting.tenant, what.course).await?;
        // A granted course is taken only while authorization holds the grant in effect (the
        // link and the master's switches are its to know), whoever enrols whom.
        let granted = taken.as_ref().is_some_and(|t| t.granted.is_some());
        if enrols_self || granted {
            // As asking to join: a course they may not see is no course to them (review M3.1),
            // whatever their right to enrol themselves.
            self.authorization
                .require(acting, Permission::CoursesRead, seen)
                .await?;
        }
        let taken = taken.ok_or_else(|| ApiError::not_found("course", what.course.to_string()))?;
        // A granted course needs no approval: the grant is the master's (nobody in the client
        // tenant could approve on the master's course).
        let requires_approval = taken.course.requires_approval && taken.granted.is_none();
        if direct_enrolment_needs_approval(requires_approval, enrols_self) {
            self.authorization
                .require(
                    acting,
                    Permission::EnrolmentsApprove,
                    reference(ObjectType::Course, what.course),
                )
                .await?;
        }
        let audit = what.actor.did(action, "enrolment", "");
        let made = self
            .store
            .enrol(
                acting.tenant,
                ToEnrol {
                    course: what.course,
                    users: &users,
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

    /// Fails unless the acting person may enrol each person `named` (PERMISSION_DENIED naming
    /// `user_ids`, NOT_FOUND for ids nobody has) and each group member of `members` (naming
    /// `group_ids`; none decided one by one when they may enrol anyone in the tenant).
    pub(crate) async fn may_enrol_all(
        &self,
        acting: &Acting,
        named: &[UserId],
        members: &[UserId],
    ) -> Result<(), ApiError> {
        self.may_enrol(acting, "user_ids", named).await?;
        if !members.is_empty() && !self.may_enrol_anyone(acting).await? {
            self.may_enrol(acting, "group_ids", members).await?;
        }
        Ok(())
    }

    /// Fails unless the acting person may enrol each of `users` (one BatchCheck per thousand).
    async fn may_enrol(
        &self,
        acting: &Acting,
        field: &str,
        users: &[UserId],
    ) -> Result<(), ApiError> {
        if users.is_empty() {
            return Ok(());
        }
        self.authorization
            .require_each(acting, Permission::EnrolmentsCreate, field, people(users))
            .await
    }

    /// Whether the acting person may enrol every person of the tenant (a tenant-wide grant,
    /// which no person's own facts veto): then a large group needs no decision per member.
    async fn may_enrol_anyone(&self, acting: &Acting) -> Result<bool, ApiError> {
        let visible = self
            .authorization
            .visible(
                acting,
                Permission::EnrolmentsCreate,
                ObjectType::User,
                "",
                1,
            )
            .await;
        match visible {
            Ok(Visible::All) => Ok(true),
            // Listed people, or more than one lookup lists: each is decided instead.
            Ok(Visible::Only { .. }) | Err(ApiError::FailedPrecondition { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

/// Authorization's references to `users`.
fn people(users: &[UserId]) -> Vec<ObjectReference> {
    users
        .iter()
        .map(|user| reference(ObjectType::User, *user))
        .collect()
}
