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
    /// A master cannot become a client (one level only).
    #[error("a tenant with clients cannot become a client")]
    MasterAsClient,
}

impl Tenant {
    /// Checks that this tenant has client tenants switched on, the part of
    /// [`Tenant::can_take_client`] that needs no client (so it can be checked first).
    pub fn takes_clients(&self) -> Result<(), ClientLinkError> {
        if !self.settings.clients_enabled {
            return Err(ClientLinkError::ClientsDisabled);
        }
        Ok(())
    }

    /// Checks that `client`, which has clients of its own when `client_has_clients`, may become
    /// a client of `self`. The relation stays one level deep, so it never loops.
    pub fn can_take_client(
        &self,
        client: &Tenant,
        client_has_clients: bool,
    ) -> Result<(), ClientLinkError> {
        self.takes_clients()?;
        if self.id == client.id {
            return Err(ClientLinkError::SelfLink);
        }
        if self.master.is_some() {
            return Err(ClientLinkError::ClientAsMaster);
        }
        if client.master.is_some() {
            return Err(ClientLinkError::AlreadyClient);
        }
        if client_has_clients {
            return Err(ClientLinkError::MasterAsClient);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tenant(clients_enabled: bool, master: Option<TenantId>) -> Tenant {
        Tenant {
            id: TenantId::generate(),
            settings: TenantSettings {
                clients_enabled,
                ..Default::default()
            },
            master,
        }
    }

    #[test]
    fn a_master_takes_only_free_standalone_tenants() {
        let master = tenant(true, None);
        let free = tenant(false, None);
        assert_eq!(master.can_take_client(&free, false), Ok(()));
        assert_eq!(
            tenant(false, None).can_take_client(&free, false),
            Err(ClientLinkError::ClientsDisabled)
        );
        assert_eq!(
            master.can_take_client(&master, false),
            Err(ClientLinkError::SelfLink)
        );
        assert_eq!(
            tenant(true, Some(TenantId::generate())).can_take_client(&free, false),
            Err(ClientLinkError::ClientAsMaster)
        );
        assert_eq!(
            master.can_take_client(&tenant(false, Some(TenantId::generate())), false),
            Err(ClientLinkError::AlreadyClient)
        );
        assert_eq!(
            master.can_take_client(&free, true),
            Err(ClientLinkError::MasterAsClient)
        );
        assert_eq!(
            tenant(false, None).takes_clients(),
            Err(ClientLinkError::ClientsDisabled)
        );
    }

    proptest! {
        /// After any link the rule allows, the master is no client and the client has no
        /// clients: the relation is one level deep.
        #[test]
        fn links_stay_one_level_deep(
            enabled: bool,
            master_is_client: bool,
            client_is_client: bool,
            client_has_clients: bool,
            same: bool,
        ) {
            let master = tenant(enabled, master_is_client.then(TenantId::generate));
            let client = if same {
                master.clone()
            } else {
                tenant(false, client_is_client.then(TenantId::generate))
            };
            if master.can_take_client(&client, client_has_clients).is_ok() {
                prop_assert!(master.master.is_none());
                prop_assert!(client.master.is_none());
                prop_assert!(!client_has_clients);
                prop_assert_ne!(master.id, client.id);
            }
        }
    }
}
