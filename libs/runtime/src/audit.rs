//! Reading an audit trail, the same in every service that keeps one (identity's, delegation's):
//! a record as read, the filter a listing asks for, and the parse of a listing request's filter
//! fields, each refusal naming its field. Writing stays with each service: what a record
//! names and the state it keeps differ per owner, and each store reads its own table.

use lms_kernel::UserId;

use crate::error::ApiError;
use crate::request::optional_id;

/// One stored record, as the trail is read.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditEntry {
    /// Position in commit order; newer records have larger numbers.
    pub sequence: i64,
    /// When it was written (Unix seconds).
    pub at: i64,
    /// The acting person, when a person acted.
    pub actor_user: Option<UserId>,
    /// Their sign-in session.
    pub actor_session: Option<String>,
    /// The acting service or operator, when not a person.
    pub actor_service: Option<String>,
    /// What was done.
    pub action: String,
    /// The object's type code.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The object before.
    pub before_json: Option<String>,
    /// The object after.
    pub after_json: Option<String>,
}

/// Which records to read: optionally one object's, one person's or one action's, older than a
/// page token.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AuditFilter {
    /// Only records about this object (type and id).
    pub object: Option<(String, String)>,
    /// Only records of this acting person.
    pub actor: Option<UserId>,
    /// Only records of this action (`tenant.created`).
    pub action: Option<String>,
    /// Only records older than this sequence (the previous page's last).
    pub before: Option<i64>,
}

/// The fields of a listing request that filter a trail, as the request carries them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Listing<'a> {
    /// With `object_id`: one object's records.
    pub object_type: &'a str,
    /// With `object_type`: one object's records.
    pub object_id: &'a str,
    /// One acting person's records (`actor_user_id`), when set.
    pub actor_user_id: &'a str,
    /// One action's records, when set.
    pub action: &'a str,
    /// The previous page's token.
    pub page_token: &'a str,
}

impl Listing<'_> {
    /// The filter these fields ask for; INVALID_ARGUMENT naming the field that is wrong.
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        Ok(AuditFilter {
            object: object(self.object_type, self.object_id)?,
            actor: optional_id("actor_user_id", self.actor_user_id, UserId::parse)?,
            action: Some(self.action.trim())
                .filter(|action| !action.is_empty())
                .map(str::to_owned),
            before: before(self.page_token)?,
        })
    }
}

/// The token of the page that starts below `entry` (newest first, so the next page is older).
pub fn page_token(entry: &AuditEntry) -> String {
    entry.sequence.to_string()
}

/// One object's records, when both its type and its id are given.
fn object(object_type: &str, object_id: &str) -> Result<Option<(String, String)>, ApiError> {
    match (object_type.trim(), object_id.trim()) {
        ("", "") => Ok(None),
        ("", _) => Err(ApiError::invalid_field(
            "object_type",
            "is required with object_id",
        )),
        (_, "") => Err(ApiError::invalid_field(
            "object_id",
            "is required with object_type",
        )),
        (kind, id) => Ok(Some((kind.to_owned(), id.to_owned()))),
    }
}

/// The sequence a page token says the next page starts below.
fn before(page_token: &str) -> Result<Option<i64>, ApiError> {
    match page_token {
        "" => Ok(None),
        token => token
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_field("page_token", "is not a token from a listing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(listing: Listing<'_>) -> String {
        match listing.filter() {
            Err(ApiError::InvalidArgument(violations)) => violations[0].field.clone(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn an_object_needs_both_its_type_and_its_id() {
        let half = |object_type, object_id| Listing {
            object_type,
            object_id,
            ..Default::default()
        };
        assert_eq!(refused_field(half("", "c1")), "object_type");
        assert_eq!(refused_field(half("course", " ")), "object_id");
        assert_eq!(
            half("course", "c1").filter().unwrap().object,
            Some(("course".into(), "c1".into()))
        );
    }

    #[test]
    fn a_bad_person_or_page_token_is_refused_by_name() {
        let actor = Listing {
            actor_user_id: "not-a-user",
            ..Default::default()
        };
        assert_eq!(refused_field(actor), "actor_user_id");
        let token = Listing {
            page_token: "next",
            ..Default::default()
        };
        assert_eq!(refused_field(token), "page_token");
    }

    #[test]
    fn empty_fields_filter_nothing_and_a_token_reads_below_its_record() {
        assert_eq!(Listing::default().filter().unwrap(), AuditFilter::default());
        let entry = AuditEntry {
            sequence: 42,
            at: 0,
            actor_user: None,
            actor_session: None,
            actor_service: Some("svc".into()),
            action: "course.created".into(),
            object_type: "course".into(),
            object_id: "c1".into(),
            before_json: None,
            after_json: None,
        };
        let next = Listing {
            page_token: &page_token(&entry),
            action: " course.created ",
            ..Default::default()
        };
        let filter = next.filter().unwrap();
        assert_eq!(filter.before, Some(42));
        assert_eq!(filter.action.as_deref(), Some("course.created"));
    }
}
