//! Identifiers. Each kind of object has its own newtype so that a user id can never be passed
//! where a tenant id is expected; all are UUIDs in their canonical text form on the wire.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A text that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} must be a UUID")]
pub struct IdError {
    /// Which kind of id was expected, for example `tenant id`.
    pub kind: &'static str,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(transparent))]
        pub struct $name(Uuid);

        impl $name {
            /// What the id names, for error messages.
            pub const KIND: &'static str = $kind;

            /// A fresh id, ordered by creation time (UUIDv7) so that indexes stay compact.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps a UUID read from a trusted store.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the canonical text form, rejecting anything else (including the nil UUID).
            pub fn parse(text: &str) -> Result<Self, IdError> {
                match Uuid::try_parse(text) {
                    Ok(uuid) if !uuid.is_nil() => Ok(Self(uuid)),
                    _ => Err(IdError { kind: $kind }),
                }
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// An organisation using the LMS.
    TenantId,
    "tenant id"
);
uuid_id!(
    /// A person: administrator, trainer, learner or booker.
    UserId,
    "user id"
);

uuid_id!(
    /// A location, account or account group.
    UnitId,
    "unit id"
);
uuid_id!(
    /// A group of users (a team when it is their primary group).
    GroupId,
    "group id"
);
uuid_id!(
    /// A course.
    CourseId,
    "course id"
);
uuid_id!(
    /// A catalogue of courses.
    CatalogueId,
    "catalogue id"
);
uuid_id!(
    /// A master tenant's grant of one of its courses to a client tenant.
    ContentGrantId,
    "grant id"
);
uuid_id!(
    /// A lesson of a course.
    LessonId,
    "lesson id"
);
uuid_id!(
    /// A scheduled event of a course.
    EventId,
    "event id"
);
uuid_id!(
    /// One person's place (or wait for one) on an event.
    BookingId,
    "booking id"
);
uuid_id!(
    /// A learner's competency check on a course.
    CompetencyCheckId,
    "check id"
);
uuid_id!(
    /// A shop order as delegation keeps it (the shop's own id is kept beside it).
    OrderId,
    "order id"
);
uuid_id!(
    /// A Purchaser's invitation to take one of an order's seats.
    InvitationId,
    "invitation id"
);
uuid_id!(
    /// A tenant's custom role.
    CustomRoleId,
    "role id"
);
uuid_id!(
    /// One role assignment.
    AssignmentId,
    "assignment id"
);
uuid_id!(
    /// One enrolment of a learner on a course (a re-enrolment is a new one).
    EnrolmentId,
    "enrolment id"
);
uuid_id!(
    /// A learner's request to join a course that needs approval.
    EnrolmentRequestId,
    "enrolment request id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn malformed_and_nil_ids_are_rejected_with_their_kind() {
        assert_eq!(
            TenantId::parse("not-a-uuid"),
            Err(IdError { kind: "tenant id" })
        );
        assert_eq!(
            TenantId::parse("00000000-0000-0000-0000-000000000000"),
            Err(IdError { kind: "tenant id" })
        );
    }
}
