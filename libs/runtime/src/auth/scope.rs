//! What a service token may do (security review M9): each service account holds a few scopes,
//! its tokens carry them in the `scope` claim (space-separated, as OAuth 2.0 writes it), and each
//! RPC a service may call names the scope it needs. A token without the scope is refused with
//! `SCOPE_REQUIRED`, so a reporting or shop integration that leaks its token cannot create
//! tenants, write course facts or assign roles.

use std::collections::HashMap;
use std::fmt;

use lms_kernel::TenantId;

use super::acting::tenant;
use super::claims::Caller;
use crate::error::ApiError;

/// One thing a service account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Scope {
    /// Run the platform: create tenants and service accounts, lift lockouts, hand a tenant's
    /// Access Coordinator duty over. Only on platform-wide tokens (no tenant).
    Operator,
    /// Ask authorization's decisions (Check, BatchCheck, lookups, Explain) about a tenant's people.
    Decide,
    /// Write and read the people facts identity owns: units, employments, groups, client
    /// tenants, named managers, a person's status, the Access Coordinator.
    PeopleFacts,
    /// Write and read the course facts delegation owns: course and event responsibilities,
    /// enrolments, bookings, lessons and events of a course, purchasers' invitees.
    CourseFacts,
    /// Assign and revoke roles as a service (the people-data feed, shop purchases); the change is
    /// audited with the person it was made for.
    AssignRoles,
    /// Import people, accounts and account groups into the tenant from CSV (identity's
    /// `ImportCsv`): the people-data feed of an HR system. An integration imports as its holder
    /// would: everything the import decides about a person is bounded by the holder's rights.
    PeopleImport,
    /// Record learners' progress and completions on their enrolments (a tenant's content
    /// player); nothing else.
    ProgressRecord,
    /// Read and acknowledge the tenant's pending notifications (a tenant's mailer); nothing
    /// else.
    NotificationsRead,
    /// Place the shop's orders for the tenant's courses (a tenant's shop integration); nothing
    /// else: what an order gives (a Student's enrolment, a Purchaser's seats) is delegation's
    /// rule, not the integration's choice.
    OrdersPlace,
    /// Give the roles a purchase gives, the built-in Student and Purchaser, and nothing else
    /// (delegation's channel for shop orders): a leaked token of it reaches no administrator role.
    ShopRoles,
    /// Find a tenant's person by their e-mail address (delegation, for shop buyers and
    /// invitees); answers an id, nothing more.
    PeopleLookup,
}

impl Scope {
    /// Every scope, in the order they are listed.
    pub const ALL: [Scope; 11] = [
        Scope::Operator,
        Scope::Decide,
        Scope::PeopleFacts,
        Scope::CourseFacts,
        Scope::AssignRoles,
        Scope::PeopleImport,
        Scope::ProgressRecord,
        Scope::NotificationsRead,
        Scope::OrdersPlace,
        Scope::ShopRoles,
        Scope::PeopleLookup,
    ];

    /// The scope's name in tokens and in the API.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Operator => "platform.operator",
            Scope::Decide => "authorization.decide",
            Scope::PeopleFacts => "authorization.facts.people",
            Scope::CourseFacts => "authorization.facts.courses",
            Scope::AssignRoles => "authorization.roles.assign",
            Scope::PeopleImport => "identity.people.import",
            Scope::ProgressRecord => "delegation.progress.record",
            Scope::NotificationsRead => "delegation.notifications.read",
            Scope::OrdersPlace => "delegation.orders.place",
            Scope::ShopRoles => "authorization.roles.shop",
            Scope::PeopleLookup => "identity.people.lookup",
        }
    }

    /// Whether a tenant's own integration (a service account of one tenant) may hold the
    /// scope: asking decisions, assigning roles and importing people, each within what the
    /// account's holder holds, and recording its learners' progress. The operator scope runs
    /// every tenant, and the fact-writing scopes are the platform's own services' channel into
    /// authorization (a fact written there is believed as it stands, with no person's rights
    /// behind it), so tenant accounts never hold them.
    pub const fn for_tenant_accounts(self) -> bool {
        matches!(
            self,
            Scope::Decide
                | Scope::AssignRoles
                | Scope::PeopleImport
                | Scope::ProgressRecord
                | Scope::NotificationsRead
                | Scope::OrdersPlace
        )
    }

    /// The scope named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.name() == name)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of scopes (a bit set: tokens are verified on every call, so this stays `Copy`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u16);

impl Scopes {
    /// No scope at all.
    pub const NONE: Scopes = Scopes(0);

    /// The set of `scopes`.
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        Scopes(scopes.into_iter().fold(0, |bits, scope| bits | scope.bit()))
    }

    /// Whether `scope` is in the set.
    pub const fn has(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set holds nothing.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set without `scope`.
    pub const fn without(self, scope: Scope) -> Scopes {
        Scopes(self.0 & !scope.bit())
    }

    /// The set of `scopes`, in a constant.
    pub const fn of_const(scopes: &[Scope]) -> Scopes {
        let mut bits = 0;
        let mut i = 0;
        while i < scopes.len() {
            bits |= scopes[i].bit();
            i += 1;
        }
        Scopes(bits)
    }

    /// The set without the scopes a tenant's account may never hold.
    pub fn only_for_tenant_accounts(self) -> Scopes {
        Scopes::of(self.iter().filter(|scope| scope.for_tenant_accounts()))
    }

    /// The scopes in both sets.
    pub const fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// The scopes in the set, in [`Scope::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |scope| self.has(*scope))
    }

    /// The `scope` claim of a token: the names, space-separated. Names this build does not know
    /// are skipped, so a newer identity can add scopes without older verifiers refusing tokens.
    pub fn from_claim(claim: &str) -> Scopes {
        Scopes::of(claim.split_ascii_whitespace().filter_map(Scope::parse))
    }

    /// The `scope` claim for the set.
    pub fn to_claim(self) -> String {
        self.iter().map(Scope::name).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Scope::name)).finish()
    }
}

fn missing(scope: Scope, message: String) -> ApiError {
    ApiError::PermissionDenied {
        reason: "SCOPE_REQUIRED",
        message,
        metadata: HashMap::from([("scope".to_owned(), scope.name().to_owned())]),
    }
}

/// Refuses a service or integration whose token lacks `scope`; people pass (their rights are
/// decided by authorization, not by scopes).
pub fn require_scope(caller: &Caller, scope: Scope) -> Result<(), ApiError> {
    match caller {
        Caller::Service { name, scopes, .. } if !scopes.has(scope) => Err(missing(
            scope,
            format!("the service account {name} lacks the scope {scope}"),
        )),
        Caller::Integration { name, scopes, .. } if !scopes.has(scope) => Err(missing(
            scope,
            format!("the integration {name} lacks the scope {scope}"),
        )),
        _ => Ok(()),
    }
}

/// The tenant a service token holding `scope` acts for: the guard of calls only integrations
/// make (a content player recording progress), where the scope is the whole permission. People
/// are refused like a token without the scope, naming it (they act through their own rights,
/// never through an integration's call); a platform-wide token with `TENANT_REQUIRED`.
pub fn scoped_tenant(caller: &Caller, scope: Scope) -> Result<TenantId, ApiError> {
    match caller {
        Caller::User { .. } => Err(missing(
            scope,
            format!("only a service token holding the scope {scope} makes this call"),
        )),
        Caller::Service { .. } | Caller::Integration { .. } => {
            require_scope(caller, scope)?;
            tenant(caller)
        }
    }
}

/// The platform operator behind `caller`, as audit names them (`operator:<account>`): a
/// platform-wide service token with the operator scope. Anyone else is refused with
/// `PLATFORM_OPERATOR_REQUIRED`: "only platform operators may `action`".
pub fn operator(caller: &Caller, action: &str) -> Result<String, ApiError> {
    match caller {
        Caller::Service {
            name,
            tenant: None,
            scopes,
            ..
        } if scopes.has(Scope::Operator) => Ok(format!("operator:{name}")),
        _ => Err(ApiError::PermissionDenied {
            reason: "PLATFORM_OPERATOR_REQUIRED",
            message: format!("only platform operators may {action}"),
            metadata: HashMap::from([("scope".to_owned(), Scope::Operator.name().to_owned())]),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(tenant: bool, scopes: Scopes) -> Caller {
        Caller::Service {
            name: "shop".into(),
            tenant: tenant.then(lms_kernel::TenantId::generate),
            token_id: "t".into(),
            session: None,
            scopes,
        }
    }

    fn integration(scopes: Scopes) -> Caller {
        Caller::Integration {
            name: "hr-feed".into(),
            tenant: lms_kernel::TenantId::generate(),
            token_id: "t".into(),
            session: "s".into(),
            scopes,
            holder: None,
            mfa: false,
        }
    }

    #[test]
    fn the_claim_round_trips_and_skips_unknown_names() {
        let scopes = Scopes::of([Scope::Decide, Scope::CourseFacts]);
        assert_eq!(
            scopes.to_claim(),
            "authorization.decide authorization.facts.courses"
        );
        assert_eq!(Scopes::from_claim(&scopes.to_claim()), scopes);
        assert_eq!(
            Scopes::from_claim("  authorization.decide  reporting.future "),
            Scopes::of([Scope::Decide])
        );
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.name()), Some(scope));
        }
        assert!(Scopes::from_claim("").is_empty());
    }

    #[test]
    fn tenant_accounts_hold_only_the_integration_scopes() {
        let held: Vec<_> = Scope::ALL
            .into_iter()
            .filter(|scope| scope.for_tenant_accounts())
            .collect();
        assert_eq!(
            held,
            [
                Scope::Decide,
                Scope::AssignRoles,
                Scope::PeopleImport,
                Scope::ProgressRecord,
                Scope::NotificationsRead,
                Scope::OrdersPlace,
            ]
        );
    }

    #[test]
    fn a_scoped_call_takes_a_tenant_token_holding_the_scope_and_refuses_people() {
        let refusal = |result: Result<TenantId, ApiError>| match result {
            Err(ApiError::PermissionDenied {
                reason, metadata, ..
            }) => (reason, metadata.get("scope").cloned()),
            other => panic!("unexpected {other:?}"),
        };
        let player = service(true, Scopes::of([Scope::ProgressRecord]));
        assert_eq!(
            scoped_tenant(&player, Scope::ProgressRecord).ok(),
            player.tenant()
        );
        let progress = Some("delegation.progress.record".to_owned());
        let decide_only = service(true, Scopes::of([Scope::Decide]));
        assert_eq!(
            refusal(scoped_tenant(&decide_only, Scope::ProgressRecord)),
            ("SCOPE_REQUIRED", progress.clone())
        );
        let person = Caller::User {
            tenant: lms_kernel::TenantId::generate(),
            user: lms_kernel::UserId::generate(),
            mfa: true,
            token_id: "t".into(),
            session: None,
        };
        assert_eq!(
            refusal(scoped_tenant(&person, Scope::ProgressRecord)),
            ("SCOPE_REQUIRED", progress)
        );
        let platform_wide = service(false, Scopes::of([Scope::ProgressRecord]));
        assert_eq!(
            refusal(scoped_tenant(&platform_wide, Scope::ProgressRecord)).0,
            "TENANT_REQUIRED"
        );
    }

    #[test]
    fn a_service_needs_the_scope_and_people_pass() {
        let reason = |result: Result<(), ApiError>| match result {
            Err(ApiError::PermissionDenied { reason, .. }) => reason,
            other => panic!("unexpected {other:?}"),
        };
        let decide = service(true, Scopes::of([Scope::Decide]));
        assert!(require_scope(&decide, Scope::Decide).is_ok());
        assert_eq!(
            reason(require_scope(&decide, Scope::CourseFacts)),
            "SCOPE_REQUIRED"
        );
        let person = Caller::User {
            tenant: lms_kernel::TenantId::generate(),
            user: lms_kernel::UserId::generate(),
            mfa: false,
            token_id: "t".into(),
            session: None,
        };
        assert!(require_scope(&person, Scope::CourseFacts).is_ok());
        let feed = integration(Scopes::of([Scope::PeopleImport]));
        assert!(require_scope(&feed, Scope::PeopleImport).is_ok());
        let Err(ApiError::PermissionDenied {
            reason, metadata, ..
        }) = require_scope(&feed, Scope::AssignRoles)
        else {
            panic!("an integration needs the scope too");
        };
        assert_eq!(reason, "SCOPE_REQUIRED");
        assert_eq!(metadata["scope"], "authorization.roles.assign");
    }

    #[test]
    fn operators_are_platform_wide_tokens_with_the_scope() {
        let all = Scopes::of(Scope::ALL);
        assert_eq!(
            operator(&service(false, all), "x").unwrap(),
            "operator:shop"
        );
        assert!(operator(&service(true, all), "x").is_err(), "tenant token");
        assert!(
            operator(&service(false, all.without(Scope::Operator)), "x").is_err(),
            "no operator scope"
        );
        assert!(operator(&integration(all), "x").is_err(), "an integration");
    }
}
