//! Tenants: the organisations using the LMS, their feature switches and master/client links.

use crate::ids::TenantId;

/// Feature switches of a tenant.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TenantSettings {
    /// Locations, and with them the Local and Multiple Location Administrator roles.
    pub locations_enabled: bool,
    /// Client tenants, and with them the Master Administrator role.
    pub clients_enabled: bool,
    /// Admin roles need a second factor at sign-in.
    pub mfa_required_for_admins: bool,
}

impl TenantSettings {
    /// The switches `required` turns on that these settings have off, by name.
    pub fn missing(&self, required: &TenantSettings) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if required.locations_enabled && !self.locations_enabled {
            missing.push("locations_enabled");
        }
        if required.clients_enabled && !self.clients_enabled {
            missing.push("clients_enabled");
        }
        missing
    }
}

/// A tenant: standalone, a master with clients, or a client of one master.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its feature switches.
    pub settings: TenantSettings,
    /// The master tenant, when this one is a client.
    pub master: Option<TenantId>,
}

/// Why two tenants cannot be linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientLinkError {
    /// The master has `clients_enabled` off.
    #[error("the master tenant does not have clients_enabled")]
    ClientsDisabled,
    /// A tenant cannot be its own client.
    #[error("a tenant cannot be its own client")]
    SelfLink,
    /// The client already has a master.
    #[error("the tenant is already a client of another master")]
    AlreadyClient,
    /// A client cannot have clients of its own (one level only).
    #[error("a client tenant cannot be a master")]
    ClientAsMaster,
}

impl Tenant {
    /// Checks that `client` may become a client of `self`.
    pub fn can_take_client(&self, client: &Tenant) -> Result<(), ClientLinkError> {
        if !self.settings.clients_enabled {
            return Err(ClientLinkError::ClientsDisabled);
        }
        if self.id == client.id {
            return Err(ClientLinkError::SelfLink);
        }
        if self.master.is_some() {
            return Err(ClientLinkError::ClientAsMaster);
        }
        if client.master.is_some() {
            return Err(ClientLinkError::AlreadyClient);
        }
        Ok(())
    }
}
