//! What every identity handler shares: the store, the keys, password hashing, the connection to
//! authorization and the outbox relay.

use futures_util::{StreamExt, TryStreamExt, stream};
use lms_kernel::{TenantId, UnitId, UserId};
use lms_runtime::auth::{Asker, RevocationFeed};
use lms_runtime::clock::now;
use lms_runtime::config::SignInConfig;
use lms_runtime::outbox::{NewEvent, Relay};
use lms_runtime::peers::Authorization;
use lms_runtime::{ApiError, Database};

use crate::audit::Audit;
use crate::convert::ValidNewUser;
use crate::keys::KeyRing;
use crate::lockout::Attempts;
use crate::password::Passwords;
use crate::store::{EmploymentRecord, Store, UserRecord};

/// Escalation questions asked at once when many people are checked.
const ESCALATION_CHECKS_AT_ONCE: usize = 8;

/// The shared state of the identity handlers.
#[derive(Debug)]
pub struct Core<S> {
    /// The identity store.
    pub store: S,
    /// Signing keys.
    pub keys: KeyRing,
    /// Password hashing.
    pub passwords: Passwords,
    /// Decisions and fact delivery.
    pub authorization: Authorization,
    /// The database the store and the outbox live in.
    pub database: Database,
    /// The outbox relay.
    pub relay: std::sync::Arc<Relay>,
    /// Token lifetimes and lockout.
    pub sign_in: SignInConfig,
    /// The rate limit and lockout in front of every credential check.
    pub attempts: Attempts,
    /// Where ended sessions are published, so every service refuses their access tokens.
    pub revocations: RevocationFeed,
}

impl<S: Store + Clone> Core<S> {
    /// Refuses to act on the tenant's Access Coordinator (suspend, anonymise, delete): the
    /// duty is handed over first, so the tenant always has exactly one.
    pub async fn not_the_access_coordinator(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(), ApiError> {
        let coordinator = self
            .store
            .tenant(tenant)
            .await?
            .and_then(|t| t.access_coordinator);
        if coordinator == Some(user) {
            return Err(ApiError::FailedPrecondition {
                reason: "ACCESS_COORDINATOR",
                message: "hand the Access Coordinator duty to someone else first".into(),
            });
        }
        Ok(())
    }

    /// Those of `users` the acting person (an integration's holder) does not outrank (H3:
    /// could not have assigned every role they hold), each with authorization's reason, in the
    /// order given; the acting person themself never counts. An error (authorization
    /// unreachable, say) fails the whole, so a caller acts on nobody unchecked.
    pub async fn outranked(
        &self,
        acting: &impl Asker,
        users: &[UserId],
    ) -> Result<Vec<(UserId, String)>, ApiError> {
        let me = acting.person();
        let answers: Vec<Option<(UserId, String)>> = stream::iter(users.iter().copied())
            .filter(|user| std::future::ready(Some(*user) != me))
            .map(|user| async move {
                match self.authorization.require_outranks(acting, user).await {
                    Ok(()) => Ok(None),
                    Err(ApiError::PermissionDenied { message, .. }) => Ok(Some((user, message))),
                    Err(other) => Err(other),
                }
            })
            .buffered(ESCALATION_CHECKS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// The records of a new user employed at `unit` from now on (CreateUser, and the first user
    /// of CreateTenant). Tutors and teachers wait for the Access Coordinator.
    pub async fn new_user_records(
        &self,
        user: ValidNewUser,
        unit: UnitId,
        created_by: String,
    ) -> Result<(UserRecord, EmploymentRecord), ApiError> {
        let password_hash = match &user.password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let now = now();
        let status = user.account_kind.initial_status();
        let record = UserRecord {
            id: UserId::generate(),
            email: Some(user.email),
            given_name: user.given_name,
            family_name: user.family_name,
            status,
            account_kind: user.account_kind,
            restrict_bookings: false,
            primary_group: None,
            custom_fields: user.custom_fields,
            external_id: user.external_id,
            password_hash,
            last_sign_in_at: None,
            created_by,
            created_at: now,
        };
        let employment = EmploymentRecord {
            id: uuid::Uuid::now_v7(),
            user: record.id,
            unit,
            starts_at: now,
            ends_at: None,
            main_account: true,
        };
        Ok((record, employment))
    }

    /// A user as the API shows it, with their employments.
    pub async fn user_view(
        &self,
        tenant: TenantId,
        user: &UserRecord,
    ) -> Result<lms_api::identity::v1::User, ApiError> {
        let employments = self.store.employments(tenant, user.id).await?;
        Ok(crate::convert::user(user, &employments))
    }

    /// Users as the API shows them, with their employments read in one query.
    pub async fn user_views(
        &self,
        tenant: TenantId,
        users: &[UserRecord],
    ) -> Result<Vec<lms_api::identity::v1::User>, ApiError> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let employments = self.store.employments_of(tenant, &ids).await?;
        Ok(users
            .iter()
            .map(|user| {
                let own: Vec<_> = employments
                    .iter()
                    .filter(|e| e.user == user.id)
                    .cloned()
                    .collect();
                crate::convert::user(user, &own)
            })
            .collect())
    }

    /// Delivers the tenant's events committed so far (the caller's own among them) and answers
    /// authorization's token; `None` when authorization could not take them in time (the change
    /// is saved; the relay delivers it and decisions see it then).
    pub async fn deliver(&self, tenant: TenantId) -> Option<lms_api::common::v1::ConsistencyToken> {
        self.relay.deliver_committed(tenant).await
    }

    /// Commits events that change nothing of identity's own (a role given in authorization
    /// alone) and delivers them like any other change.
    pub async fn commit_events(
        &self,
        tenant: TenantId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<Option<lms_api::common::v1::ConsistencyToken>, ApiError> {
        self.store.commit_audited(tenant, events, audit).await?;
        Ok(self.deliver(tenant).await)
    }
}
