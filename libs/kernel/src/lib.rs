//! The LMS Access domain kernel: the types and rules every service shares.
//!
//! It does no I/O (no tokio, tonic or sqlx), so every rule is a pure function that can be tested
//! exhaustively and benchmarked in isolation.

#![forbid(unsafe_code)]

pub mod booking;
pub mod course;
pub mod decision;
pub mod enrolment;
pub mod escalation;
pub mod facts;
pub mod holdings;
pub mod ids;
pub mod naming;
pub mod permission;
pub mod reach;
pub mod responsibility;
pub mod role;
pub mod scope;
pub mod template;
pub mod tenant;
pub mod unit;
pub mod user;

pub use booking::{
    Attendance, BookingError, BookingState, EventStatus, Placement, attendance_opens_at,
};
pub use course::{
    CourseError, CourseStatus, Removal, TextError, Title, TutorTaken, Window, WindowError,
};
pub use decision::{Decision, Denial, Grounds, decide, object_may_veto};
pub use enrolment::{
    Admission, Enrolment, EnrolmentError, EnrolmentState, Progress, ProgressEffect, RequestState,
    TransitionError,
};
pub use escalation::{
    EscalationError, Target, check_assignment, check_definition, check_dominance,
    check_responsibilities, check_role,
};
pub use facts::{GrantedCourse, HeldRole, Object, Place, ResourceFacts, SubjectFacts};
pub use holdings::{HeldReach, Holdings, holdings};
pub use ids::{
    AssignmentId, BookingId, CatalogueId, CompetencyCheckId, ContentGrantId, CourseId,
    CustomRoleId, EnrolmentId, EnrolmentRequestId, EventId, GroupId, IdError, InvitationId,
    LessonId, OrderId, TenantId, UnitId, UserId,
};
pub use naming::{NamedTarget, NamingError, NamingPurpose};
pub use permission::{Area, Permission, PermissionSet};
pub use reach::Reach;
pub use responsibility::{
    Responsibility, ResponsibilityError, ResponsibilitySet, check_responsibility,
};
pub use role::{Grant, Grants, Role, RoleId};
pub use template::{ACCESS_COORDINATOR_DUTIES, Template};
pub use tenant::{ClientLinkError, Tenant, TenantSettings};
pub use unit::{UnitError, UnitKind};
pub use user::{AccountKind, Email, EmploymentError, StatusError, UserStatus};
