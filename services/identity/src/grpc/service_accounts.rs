//! Service accounts: client credentials traded for short-lived access tokens (`kind: service`).
//! An account belongs to the platform (its own services, operators) or to one tenant (the
//! tenant's integrations: people-data feed, shop, content player). Each holds scopes its tokens
//! carry (security review M9), the secret is shown once and stored as a hash, and every change
//! is audited.
//!
//! Operators manage every account. A person manages their own tenant's accounts when they may
//! change its configuration (`system_configuration.update`, decided by authorization with their
//! token); the accounts they create they hold: the tokens name the tenant and the holder, and
//! authorization checks what such a token does as if the holder did it, so an integration never
//! reaches further than the person who made it. Nor further than the session that made it: a
//! secret the holder set in a session that proved a second factor gives tokens saying so
//! (`amr` `otp`); any other secret's tokens act as a password-only session of the holder's
//! would, which does nothing risky where the tenant requires MFA for administrators. Another
//! tenant's accounts and the platform's do not exist for them.
//!
//! A token carries the id of the secret it was issued against as its session (`sid`): rotating
//! the secret or disabling the account revokes that id, and the revocation feed ends the tokens
//! on every replica within a second, as for a person's sign-out.

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    CreateServiceAccountRequest, CreateServiceAccountResponse, DisableServiceAccountRequest,
    DisableServiceAccountResponse, IssueServiceTokenRequest, IssueServiceTokenResponse,
    ListServiceAccountsRequest, ListServiceAccountsResponse, RotateServiceAccountSecretRequest,
    RotateServiceAccountSecretResponse, ServiceAccount,
};
use lms_kernel::{Permission, TenantId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, Caller, Scope, Scopes, SubjectKind, acting, operator, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::Request;
use uuid::Uuid;

use super::authentication::Authentication;
use crate::audit::{Actor, Object};
use crate::convert::{optional_id, reference, required_id, timestamp};
use crate::sessions;
use crate::store::{AccountOwner, AccountReach, AccountSecret, ServiceAccountRecord, Store};

/// The scopes a platform account's token narrowed to one tenant may carry.
const NARROWABLE: Scopes = Scopes::of_const(&[
    Scope::CourseFacts,
    Scope::Decide,
    Scope::ShopRoles,
    Scope::PeopleLookup,
]);

/// Why a tenant account may not hold `scope`; `None` when it may.
fn refused_for_tenant_accounts(scope: Scope) -> Option<String> {
    let why = match scope {
        _ if scope.for_tenant_accounts() => return None,
        Scope::Operator => "runs the whole platform",
        // Facts written there are believed as they stand, with no person's rights behind them.
        Scope::PeopleFacts | Scope::CourseFacts => {
            "is the platform's own services' channel for the facts authorization decides on"
        }
        // Roles given and people found with no person's rights behind them.
        _ => "is the platform's own services' channel for shop orders",
    };
    let allowed: Vec<_> = Scope::ALL
        .into_iter()
        .filter(|s| s.for_tenant_accounts())
        .map(Scope::name)
        .collect();
    Some(format!(
        "{scope} {why}: a tenant's account never holds it (it may hold {})",
        allowed.join(", ")
    ))
}

/// The scopes a new account asks for: each a known name, at least one, and for an account of a
/// tenant only those meant for a tenant's integrations.
fn requested_scopes(names: &[String], owner: AccountOwner) -> Result<Scopes, ApiError> {
    let scopes = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let field = || format!("scopes[{i}]");
            let scope = Scope::parse(name.trim()).ok_or_else(|| {
                let known: Vec<_> = Scope::ALL.iter().map(|s| s.name()).collect();
                ApiError::invalid_field(field(), format!("must be one of {}", known.join(", ")))
            })?;
            match (owner, refused_for_tenant_accounts(scope)) {
                (AccountOwner::Tenant { .. }, Some(why)) => {
                    Err(ApiError::invalid_field(field(), why))
                }
                _ => Ok(scope),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::invalid_field("scopes", "name at least one scope"));
    }
    Ok(Scopes::of(scopes))
}

fn account_id(field: &str, value: &str) -> Result<Uuid, ApiError> {
    required_id(field, value, Uuid::try_parse)
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found("service_account", id.to_string())
}

fn to_proto(account: &ServiceAccountRecord) -> ServiceAccount {
    let text = |id: Option<String>| id.unwrap_or_default();
    ServiceAccount {
        service_account_id: account.id.to_string(),
        name: account.name.clone(),
        scopes: account.scopes.iter().map(|s| s.name().to_owned()).collect(),
        created_by: account.created_by.clone(),
        created_at: Some(timestamp(account.created_at)),
        secret_created_at: Some(timestamp(account.secret_created_at)),
        disabled_at: account.disabled_at.map(timestamp),
        tenant_id: text(account.owner.tenant().map(|t| t.to_string())),
        holder_user_id: text(account.owner.holder().map(|u| u.to_string())),
    }
}

/// Whether a new secret is set by its account's holder in a session that proved a second
/// factor: only a person sets a secret they hold (an operator's secret for a held account
/// counts as set without one, so its tokens act as the holder's password-only session would).
fn holders_second_factor<T>(manager: &Manager, request: &Request<T>) -> Result<bool, ApiError> {
    Ok(matches!(manager, Manager::Administrator(_)) && verified(request)?.second_factor())
}

/// Who manages service accounts in a request.
enum Manager {
    /// A platform operator, as audit names them (`operator:<account>`): every account.
    Operator(String),
    /// A person who may change their tenant's configuration: their tenant's accounts.
    Administrator(Acting),
}

impl Manager {
    /// The accounts this manager reaches.
    fn reach(&self) -> AccountReach {
        match self {
            Manager::Operator(_) => AccountReach::Every,
            Manager::Administrator(acting) => AccountReach::Tenant(acting.tenant),
        }
    }
}

impl<S: Store + Clone> Authentication<S> {
    /// Who may `action` here: a platform operator, or a person with `system_configuration.update`
    /// on their tenant. Any other service (a tenant's integration included) is refused as no
    /// operator: an integration never makes integrations.
    async fn manager<T>(&self, request: &Request<T>, action: &str) -> Result<Manager, ApiError> {
        match verified(request)? {
            caller @ (Caller::Service { .. } | Caller::Integration { .. }) => {
                Ok(Manager::Operator(operator(caller, action)?))
            }
            Caller::User { .. } => {
                let acting = acting(request)?;
                self.0
                    .authorization
                    .require(
                        &acting,
                        Permission::SystemConfigurationUpdate,
                        reference(ObjectType::Tenant, acting.tenant),
                    )
                    .await?;
                Ok(Manager::Administrator(acting))
            }
        }
    }

    /// Whom a new account belongs to: an operator names a tenant (which must exist) or none for
    /// a platform account; a person's account is their tenant's, held by them.
    async fn new_owner(
        &self,
        manager: &Manager,
        tenant_id: &str,
    ) -> Result<AccountOwner, ApiError> {
        match manager {
            Manager::Operator(_) => {
                let Some(tenant) = optional_id("tenant_id", tenant_id, TenantId::parse)? else {
                    return Ok(AccountOwner::Platform);
                };
                if self.0.store.tenant(tenant).await?.is_none() {
                    return Err(ApiError::not_found("tenant", tenant.to_string()));
                }
                Ok(AccountOwner::Tenant {
                    tenant,
                    holder: None,
                })
            }
            Manager::Administrator(acting) => {
                let named = optional_id("tenant_id", tenant_id, TenantId::parse)?;
                if named.is_some_and(|tenant| tenant != acting.tenant) {
                    return Err(ApiError::invalid_field(
                        "tenant_id",
                        "only platform operators create accounts for another tenant; people \
                         create their own tenant's: leave it empty",
                    ));
                }
                Ok(AccountOwner::Tenant {
                    tenant: acting.tenant,
                    holder: Some(acting.user),
                })
            }
        }
    }

    pub(super) async fn create_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<CreateServiceAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        let manager = self.manager(&request, "create service accounts").await?;
        let r = request.get_ref();
        let owner = self.new_owner(&manager, r.tenant_id.trim()).await?;
        let name = r.name.trim();
        if !ServiceAccountRecord::valid_name(name) {
            return Err(ApiError::invalid_field(
                "name",
                "1 to 64 lower-case letters, digits or dashes, starting with a letter",
            ));
        }
        let scopes = requested_scopes(&r.scopes, owner)?;
        let created_by = match &manager {
            Manager::Operator(operator) => operator.clone(),
            Manager::Administrator(acting) => format!("user:{}", acting.user),
        };
        let second_factor = holders_second_factor(&manager, &request)?;
        let (account, secret) =
            ServiceAccountRecord::new(name, owner, scopes, created_by, second_factor, now());
        self.0
            .store
            .create_service_account(
                &account,
                &by.did(
                    "service_account.created",
                    Object::service_account(account.id),
                ),
            )
            .await?;
        tracing::info!(
            account = %account.id,
            name = %account.name,
            tenant = ?owner.tenant(),
            holder = ?owner.holder(),
            scopes = ?account.scopes,
            "service account created"
        );
        Ok(CreateServiceAccountResponse {
            service_account_id: account.id.to_string(),
            client_secret: secret,
            service_account: Some(to_proto(&account)),
        })
    }

    pub(super) async fn list_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<ListServiceAccountsResponse, ApiError> {
        let reach = self
            .manager(&request, "list service accounts")
            .await?
            .reach();
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, Uuid::try_parse)?;
        let limit = page_size(r.page_size, 100, 500);
        let accounts = self
            .0
            .store
            .service_accounts(reach, after, limit + 1)
            .await?;
        let (accounts, next_page_token) = page(accounts, limit, |a| a.id.to_string());
        Ok(ListServiceAccountsResponse {
            service_accounts: accounts.iter().map(to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn rotate_secret(
        &self,
        request: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<RotateServiceAccountSecretResponse, ApiError> {
        let by = Actor::of(&request)?;
        let manager = self
            .manager(&request, "rotate a service account's secret")
            .await?;
        let id = account_id("service_account_id", &request.get_ref().service_account_id)?;
        self.may_rotate(&manager, id).await?;
        let reach = manager.reach();
        let (secret, secret_hash) = sessions::new_secret(sessions::CLIENT_SECRET);
        let new_secret = AccountSecret {
            id: Uuid::now_v7(),
            hash: &secret_hash,
            second_factor: holders_second_factor(&manager, &request)?,
        };
        let (account, replaced) = self
            .0
            .store
            .rotate_service_account_secret(
                id,
                reach,
                new_secret,
                now(),
                &by.did(
                    "service_account.secret_rotated",
                    Object::service_account(id),
                ),
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        self.end_tokens(replaced).await;
        tracing::info!(account = %id, "service account secret rotated");
        Ok(RotateServiceAccountSecretResponse {
            client_secret: secret,
            service_account: Some(to_proto(&account)),
        })
    }

    /// Whoever holds a secret acts within its account's rights, so a person rotates only the
    /// accounts they hold: another administrator's integration acts within that administrator's
    /// rights, and an account an operator made for the tenant is trusted like the platform's
    /// own; handing either's new secret to a tenant administrator would let them reach past what
    /// they hold. (Owners never change, so checking before the write races with nothing.)
    async fn may_rotate(&self, manager: &Manager, id: Uuid) -> Result<(), ApiError> {
        let Manager::Administrator(acting) = manager else {
            return Ok(());
        };
        let account = self
            .0
            .store
            .service_account(id)
            .await?
            .filter(|account| account.owner.tenant() == Some(acting.tenant))
            .ok_or_else(|| not_found(id))?;
        if account.owner.holder() == Some(acting.user) {
            return Ok(());
        }
        Err(ApiError::PermissionDenied {
            reason: "HOLDER_REQUIRED",
            message: "only the account's holder or a platform operator may rotate its secret: \
                      its tokens act within the holder's rights (an operator-made account's are \
                      trusted); disable it instead"
                .into(),
            metadata: Default::default(),
        })
    }

    pub(super) async fn disable_account(
        &self,
        request: Request<DisableServiceAccountRequest>,
    ) -> Result<DisableServiceAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        let reach = self
            .manager(&request, "disable service accounts")
            .await?
            .reach();
        let id = account_id("service_account_id", &request.get_ref().service_account_id)?;
        let account = self
            .0
            .store
            .disable_service_account(
                id,
                reach,
                now(),
                &by.did("service_account.disabled", Object::service_account(id)),
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        self.end_tokens(account.secret_id).await;
        tracing::info!(account = %id, "service account disabled");
        Ok(DisableServiceAccountResponse {
            service_account: Some(to_proto(&account)),
        })
    }

    /// Publishes the end of a secret's tokens now; the store holds the revocation already, and
    /// the republishing loop repeats it should this publication fail.
    async fn end_tokens(&self, secret: Uuid) {
        let at = lms_runtime::clock::now_ms();
        let _ = self.0.revocations.revoke(&[(secret, at)]).await;
    }

    /// The tenant a token of `account` names, and the scopes it carries. A tenant's account
    /// acts only for its tenant. A platform account acts in no tenant unless it asks for one
    /// (`tenant_id`): the platform's own services (delegation, reporting) write and read each
    /// tenant's facts with a token narrowed to that tenant, since authorization takes the
    /// tenant from the token and never from a request. The narrowed token drops the operator
    /// scope, which only platform-wide tokens carry.
    async fn token_tenant(
        &self,
        account: &ServiceAccountRecord,
        asked: &str,
    ) -> Result<(Option<TenantId>, Scopes), ApiError> {
        let asked = optional_id("tenant_id", asked, TenantId::parse)?;
        match (account.owner.tenant(), asked) {
            (Some(own), None) => Ok((Some(own), account.scopes)),
            (Some(own), Some(asked)) if asked == own => Ok((Some(own), account.scopes)),
            (Some(_), Some(_)) => Err(ApiError::PermissionDenied {
                reason: "OTHER_TENANT",
                message: "a tenant's service account acts only for its own tenant".into(),
                metadata: Default::default(),
            }),
            (None, None) => Ok((None, account.scopes)),
            (None, Some(asked)) => {
                // Only what a platform service does for one tenant at a time travels on a
                // narrowed token: course facts, the shop's two roles and finding a person by
                // e-mail (delegation), and decisions (reporting's grants). People facts and
                // role assignment stay with identity, which signs its own, and the operator
                // scope with platform-wide tokens; so a leaked secret of any other platform
                // account reaches no tenant, and delegation's reaches no administrator role.
                let scopes = account.scopes.intersect(NARROWABLE);
                if scopes == Scopes::NONE {
                    return Err(ApiError::invalid_field(
                        "tenant_id",
                        "this account holds no scope a platform service uses for one tenant \
                         (authorization.facts.courses, authorization.decide, \
                         authorization.roles.shop, identity.people.lookup)",
                    ));
                }
                if self.0.store.tenant(asked).await?.is_none() {
                    return Err(ApiError::not_found("tenant", asked.to_string()));
                }
                Ok((Some(asked), scopes))
            }
        }
    }

    pub(super) async fn issue_token(
        &self,
        r: IssueServiceTokenRequest,
    ) -> Result<IssueServiceTokenResponse, ApiError> {
        let refused = || ApiError::Unauthenticated {
            reason: "INVALID_CLIENT",
            message: "unknown service account or wrong secret".into(),
        };
        let disabled = |message: &str| ApiError::Unauthenticated {
            reason: "CLIENT_DISABLED",
            message: message.into(),
        };
        let id = account_id("service_account_id", &r.service_account_id)?;
        if r.client_secret.is_empty() {
            return Err(ApiError::invalid_field("client_secret", "is required"));
        }
        let account = self
            .0
            .store
            .service_account(id)
            .await?
            .ok_or_else(refused)?;
        // Hashes of 256-bit secrets: comparing them leaks nothing worth timing.
        if sessions::hash(&r.client_secret) != account.secret_hash {
            tracing::warn!(account = %id, "service token refused: wrong secret");
            return Err(refused());
        }
        // Only the secret's holder learns the account is disabled.
        if account.disabled_at.is_some() {
            return Err(disabled("the service account is disabled"));
        }
        // An integration acts within its holder's rights, so it lives no longer than they are
        // active in the tenant (suspended, anonymised or deleted: no more tokens).
        if let AccountOwner::Tenant {
            tenant,
            holder: Some(holder),
        } = account.owner
        {
            let active = self
                .0
                .store
                .user(tenant, holder)
                .await?
                .is_some_and(|user| user.status == UserStatus::Active);
            if !active {
                tracing::warn!(account = %id, "service token refused: holder not active");
                return Err(disabled(
                    "the service account's holder is no longer active in its tenant",
                ));
            }
        }
        let (tenant, scopes) = self.token_tenant(&account, &r.tenant_id).await?;
        let mut claims = self.0.keys.claims(
            SubjectKind::Service,
            account.name.clone(),
            tenant.map(|t| t.to_string()),
        );
        claims.sid = Some(account.secret_id.to_string());
        claims.scope = Some(scopes.to_claim());
        claims.hld = account.owner.holder().map(|u| u.to_string());
        claims.plt = account.owner == AccountOwner::Platform && tenant.is_some();
        if account.secret_second_factor {
            claims.amr = vec!["otp".into()];
        }
        // Who obtained tokens when (operators' above all) is part of the credential's history.
        tracing::info!(account = %id, name = %account.name, tenant = ?tenant, "service token issued");
        Ok(IssueServiceTokenResponse {
            access_token: self.0.keys.sign(&claims),
            expires_at: Some(timestamp(claims.exp as i64)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_simple_slugs() {
        assert!(ServiceAccountRecord::valid_name("delegation"));
        assert!(ServiceAccountRecord::valid_name("report-worker-2"));
        assert!(!ServiceAccountRecord::valid_name(""));
        assert!(!ServiceAccountRecord::valid_name("Delegation"));
        assert!(!ServiceAccountRecord::valid_name("2fast"));
        assert!(!ServiceAccountRecord::valid_name("a b"));
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_are_named_and_at_least_one() {
        assert_eq!(
            requested_scopes(&names(&["authorization.decide"]), AccountOwner::Platform).unwrap(),
            Scopes::of([Scope::Decide])
        );
        for bad in [names(&[]), names(&["authorization.decide", "everything"])] {
            assert!(matches!(
                requested_scopes(&bad, AccountOwner::Platform),
                Err(ApiError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn a_tenant_account_holds_only_integration_scopes() {
        let tenant = AccountOwner::Tenant {
            tenant: TenantId::generate(),
            holder: None,
        };
        let integration = names(&[
            "authorization.decide",
            "authorization.roles.assign",
            "identity.people.import",
            "delegation.progress.record",
            "delegation.notifications.read",
            "delegation.orders.place",
        ]);
        assert_eq!(
            requested_scopes(&integration, tenant).unwrap(),
            Scopes::of([
                Scope::Decide,
                Scope::AssignRoles,
                Scope::PeopleImport,
                Scope::ProgressRecord,
                Scope::NotificationsRead,
                Scope::OrdersPlace,
            ])
        );
        for refused in [
            Scope::Operator,
            Scope::PeopleFacts,
            Scope::CourseFacts,
            Scope::ShopRoles,
            Scope::PeopleLookup,
        ] {
            let why = refused_for_tenant_accounts(refused).expect("refused");
            assert!(why.starts_with(refused.name()), "{why}");
            assert!(why.contains("authorization.roles.assign"), "{why}");
            assert!(requested_scopes(&names(&[refused.name()]), tenant).is_err());
            assert!(
                requested_scopes(&names(&[refused.name()]), AccountOwner::Platform).is_ok(),
                "platform accounts may"
            );
        }
    }
}
