//! Identity's connection to authorization: the runtime's client
//! ([`lms_runtime::peers::authorization`]) with tokens identity signs for itself.

use std::time::Duration;

use lms_kernel::TenantId;
use lms_runtime::ApiError;
use lms_runtime::auth::SubjectKind;
use lms_runtime::peers::ServiceTokens;
pub use lms_runtime::peers::authorization::{Authorization, MAX_VISIBLE, Visible};

use crate::keys::KeyRing;

/// The service account name identity acts as.
pub const SERVICE_NAME: &str = "identity";

/// Identity signs its own tenant-scoped service tokens with its current key.
impl ServiceTokens for KeyRing {
    fn issue(&self, tenant: TenantId) -> Result<(String, Duration), ApiError> {
        let claims = self.claims(
            SubjectKind::Service,
            SERVICE_NAME.into(),
            Some(tenant.to_string()),
        );
        Ok((self.sign(&claims), self.access_ttl()))
    }
}
