//! AppointMasterAdministrator: the first Master Administrator of a master tenant. The role
//! reaches the tenant's clients, and nobody inside a tenant holds that reach before one exists
//! (the escalation rule stops an LMS Administrator from handing it out), so a platform operator
//! appoints the first; Master Administrators then appoint others with AssignRole.
//!
//! Appointing is idempotent: someone who already holds the role tenant-wide gets that
//! assignment back, and nothing is written or recorded. The assignment itself is authorization's
//! write (delivered from identity's outbox), so the guard against a second one lives there
//! (`unless_held`, checked in authorization's transaction): two appointments racing past the
//! first read both record the request here, and still make one assignment. Whether the person
//! and the tenant qualify is checked in identity's transaction, on rows it locks, so a person
//! suspended (or a tenant's clients switched off) while the appointment runs is not appointed.

use lms_api::identity::v1::{
    AppointMasterAdministratorRequest, AppointMasterAdministratorResponse,
};
use lms_kernel::{AccountKind, RoleId, Template, TenantId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::{operator, verified};
use tonic::Request;

use super::tenants::Tenants;
use crate::audit::{Actor, Object};
use crate::convert::{kernel_tenant, required_id};
use crate::error::link_refused;
use crate::relationships;
use crate::store::{Store, StoreError, TenantRecord, UserRecord};

const MASTER_ADMINISTRATOR: RoleId = RoleId::BuiltIn(Template::MasterAdministrator);

/// Whether `person` of `tenant` may become its Master Administrator: the tenant takes clients
/// (else the role's reach covers nothing), and the person is active with a standard account.
fn may_be_appointed(tenant: &TenantRecord, person: &UserRecord) -> Result<(), StoreError> {
    kernel_tenant(tenant)
        .takes_clients()
        .map_err(link_refused)?;
    if person.status != UserStatus::Active || person.account_kind != AccountKind::Standard {
        return Err(StoreError::Refused {
            reason: "NOT_AN_ACTIVE_PERSON",
            message: "a Master Administrator is an active user with a standard account".into(),
        });
    }
    Ok(())
}

impl<S: Store + Clone> Tenants<S> {
    pub(super) async fn appoint_master(
        &self,
        request: &Request<AppointMasterAdministratorRequest>,
    ) -> Result<AppointMasterAdministratorResponse, ApiError> {
        let by = Actor::of(request)?;
        let operator = operator(verified(request)?, "appoint Master Administrators")?;
        let r = request.get_ref();
        let tenant = required_id("tenant_id", &r.tenant_id, TenantId::parse)?;
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        // Refused before authorization is asked anything; decided again below, in the
        // transaction that records the appointment.
        let found = self
            .0
            .store
            .tenant(tenant)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant", tenant.to_string()))?;
        let person = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        may_be_appointed(&found, &person)?;
        let authorization = &self.0.authorization;
        if let (Some(held), read_at) = authorization
            .held_tenant_wide(tenant, user, MASTER_ADMINISTRATOR)
            .await?
        {
            return Ok(AppointMasterAdministratorResponse {
                written_at: read_at,
                assignment_id: held.assignment_id,
                already_appointed: true,
            });
        }
        self.0
            .store
            .commit_audited_if(
                tenant,
                user,
                may_be_appointed,
                &[relationships::role_given_unless_held(
                    user,
                    Template::MasterAdministrator,
                )],
                &by.did("tenant.master_administrator_appointed", Object::user(user)),
            )
            .await?;
        tracing::info!(%tenant, %user, by = %operator, "master administrator appointed");
        let Some(written_at) = self.0.deliver(tenant).await else {
            return Ok(AppointMasterAdministratorResponse::default());
        };
        // The assignment made now, or, when another appointment won the race, that one.
        let (held, _) = authorization
            .held_tenant_wide(tenant, user, MASTER_ADMINISTRATOR)
            .await?;
        Ok(AppointMasterAdministratorResponse {
            written_at: Some(written_at),
            assignment_id: held.map(|held| held.assignment_id).unwrap_or_default(),
            already_appointed: false,
        })
    }
}
