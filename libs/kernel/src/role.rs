//! Grants and roles: a role is a set of grants, each a permission at a reach.

use std::fmt;

use crate::ids::CustomRoleId;
use crate::permission::{Permission, PermissionSet};
use crate::reach::Reach;
use crate::template::Template;
use crate::tenant::TenantSettings;

/// One permission at one reach.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Grant {
    /// What may be done.
    pub permission: Permission,
    /// Over what.
    pub reach: Reach,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.permission, self.reach)
    }
}

/// A set of grants, stored as one permission set per reach.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Grants {
    by_reach: [PermissionSet; Reach::COUNT],
}

impl Grants {
    /// No grant.
    pub const EMPTY: Grants = Grants {
        by_reach: [PermissionSet::EMPTY; Reach::COUNT],
    };

    /// The permissions held at exactly `reach`.
    #[inline]
    pub const fn at(&self, reach: Reach) -> PermissionSet {
        self.by_reach[reach as usize]
    }

    /// These grants with `permissions` added at `reach`.
    pub const fn with(mut self, reach: Reach, permissions: PermissionSet) -> Grants {
        self.by_reach[reach as usize] = self.by_reach[reach as usize].union(permissions);
        self
    }

    /// Both sets of grants.
    pub fn union(mut self, other: &Grants) -> Grants {
        for reach in Reach::ALL {
            self.by_reach[reach as usize] = self.at(reach).union(other.at(reach));
        }
        self
    }

    /// Keeps only the permissions in `keep`, at every reach.
    pub fn restricted_to(mut self, keep: PermissionSet) -> Grants {
        for set in &mut self.by_reach {
            *set = set.intersection(keep);
        }
        self
    }

    /// Whether `permission` is granted at a reach covering `reach`.
    pub fn grants(&self, permission: Permission, reach: Reach) -> bool {
        Reach::ALL
            .into_iter()
            .any(|held| held.covers(reach) && self.at(held).contains(permission))
    }

    /// Every permission at any reach.
    pub fn permissions(&self) -> PermissionSet {
        self.by_reach
            .iter()
            .fold(PermissionSet::EMPTY, |all, set| all.union(*set))
    }

    /// Every grant, reach by reach.
    pub fn iter(&self) -> impl Iterator<Item = Grant> + '_ {
        Reach::ALL.into_iter().flat_map(move |reach| {
            self.at(reach)
                .iter()
                .map(move |permission| Grant { permission, reach })
        })
    }

    /// Whether there is no grant.
    pub fn is_empty(&self) -> bool {
        self.by_reach.iter().all(|set| set.is_empty())
    }

    /// The tenant settings these grants need: unit reaches need locations, client reach needs
    /// clients. Derived from the grants, so a custom role can never dodge a precondition.
    pub fn required_settings(&self) -> TenantSettings {
        TenantSettings {
            locations_enabled: !self.at(Reach::Unit).is_empty()
                || !self.at(Reach::UnitSubtree).is_empty(),
            clients_enabled: !self.at(Reach::TenantAndClients).is_empty(),
            mfa_required_for_admins: false,
        }
    }

    /// Whether the grants reach past the holder's own learning and relations, which is what
    /// makes a role an administrator's for the MFA policy and the access review.
    pub fn is_admin(&self) -> bool {
        Reach::ALL
            .into_iter()
            .filter(|reach| *reach != Reach::Own)
            .any(|reach| !self.at(reach).risky().is_empty())
    }
}

impl FromIterator<Grant> for Grants {
    fn from_iter<I: IntoIterator<Item = Grant>>(iter: I) -> Self {
        iter.into_iter().fold(Grants::EMPTY, |grants, grant| {
            grants.with(grant.reach, PermissionSet::of(&[grant.permission]))
        })
    }
}

impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|g| g.to_string()))
            .finish()
    }
}

/// A role's identity: a built-in template or a tenant's custom role.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RoleId {
    /// A template the platform ships.
    BuiltIn(Template),
    /// A tenant's own role.
    Custom(CustomRoleId),
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleId::BuiltIn(template) => write!(f, "builtin:{}", template.key()),
            RoleId::Custom(id) => id.fmt(f),
        }
    }
}

impl RoleId {
    /// Parses `builtin:<key>` or a custom role's UUID.
    pub fn parse(text: &str) -> Option<RoleId> {
        match text.strip_prefix("builtin:") {
            Some(key) => Template::parse(key).map(RoleId::BuiltIn),
            None => CustomRoleId::parse(text).ok().map(RoleId::Custom),
        }
    }
}

/// Why a role definition is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The name is empty or too long.
    #[error("role name must be 1 to 100 characters")]
    Name,
    /// A role with no grant does nothing.
    #[error("a role needs at least one grant")]
    NoGrants,
}

/// A role: a name and its grants, and the responsibilities its holders may be given.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Role {
    id: RoleId,
    name: String,
    grants: Grants,
    responsibilities: crate::responsibility::ResponsibilitySet,
    copied_from: Option<RoleId>,
}

/// A role's name as given, trimmed: 1 to 100 characters.
pub fn check_name(name: &str) -> Result<&str, RoleError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(RoleError::Name);
    }
    Ok(name)
}

impl Role {
    /// A custom role from scratch. Holders of roles from scratch may take no responsibility.
    pub fn custom(id: CustomRoleId, name: &str, grants: Grants) -> Result<Role, RoleError> {
        let name = check_name(name)?;
        if grants.is_empty() {
            return Err(RoleError::NoGrants);
        }
        Ok(Role {
            id: RoleId::Custom(id),
            name: name.to_owned(),
            grants,
            responsibilities: crate::responsibility::ResponsibilitySet::NONE,
            copied_from: None,
        })
    }

    /// A custom role copied from `source`, with new grants when given. The copy keeps the
    /// responsibilities its source allows.
    pub fn copy_of(
        source: &Role,
        id: CustomRoleId,
        name: &str,
        grants: Option<Grants>,
    ) -> Result<Role, RoleError> {
        let mut role = Role::custom(id, name, grants.unwrap_or(source.grants))?;
        role.responsibilities = source.responsibilities;
        role.copied_from = Some(source.id);
        Ok(role)
    }

    pub(crate) fn built_in(template: Template) -> Role {
        Role {
            id: RoleId::BuiltIn(template),
            name: template.display_name().to_owned(),
            grants: template.grants(),
            responsibilities: template.responsibilities(),
            copied_from: None,
        }
    }

    /// A custom role as stored, read back with the responsibilities and source it was defined
    /// with; the name and grant rules hold for it as for a new one.
    pub fn stored(
        id: CustomRoleId,
        name: &str,
        grants: Grants,
        responsibilities: crate::responsibility::ResponsibilitySet,
        copied_from: Option<RoleId>,
    ) -> Result<Role, RoleError> {
        let mut role = Role::custom(id, name, grants)?;
        role.responsibilities = responsibilities;
        role.copied_from = copied_from;
        Ok(role)
    }

    /// Renames a custom role.
    pub fn rename(&mut self, name: &str) -> Result<(), RoleError> {
        self.name = check_name(name)?.to_owned();
        Ok(())
    }

    /// Changes the grants of a custom role.
    pub fn set_grants(&mut self, grants: Grants) -> Result<(), RoleError> {
        if grants.is_empty() {
            return Err(RoleError::NoGrants);
        }
        self.grants = grants;
        Ok(())
    }

    /// Its id.
    pub fn id(&self) -> RoleId {
        self.id
    }

    /// Its display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its grants.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The responsibilities its holders may be given.
    pub fn responsibilities(&self) -> crate::responsibility::ResponsibilitySet {
        self.responsibilities
    }

    /// The role it was copied from.
    pub fn copied_from(&self) -> Option<RoleId> {
        self.copied_from
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responsibility::{Responsibility, ResponsibilitySet};

    #[test]
    fn a_copy_keeps_its_sources_responsibilities_and_a_role_from_scratch_has_none() {
        let grants = Template::Student.grants();
        let scratch = Role::custom(CustomRoleId::generate(), "  Helper ", grants).unwrap();
        assert_eq!(scratch.name(), "Helper");
        assert_eq!(scratch.responsibilities(), ResponsibilitySet::NONE);
        let tutor = Template::Tutor.role();
        let copy = Role::copy_of(&tutor, CustomRoleId::generate(), "Tutor 2", None).unwrap();
        assert!(
            copy.responsibilities()
                .contains(Responsibility::CourseTutor)
        );
        assert_eq!(copy.grants(), tutor.grants());
        assert_eq!(copy.copied_from(), Some(RoleId::BuiltIn(Template::Tutor)));
        let copy_of_copy =
            Role::copy_of(&copy, CustomRoleId::generate(), "Tutor 3", Some(grants)).unwrap();
        assert_eq!(copy_of_copy.responsibilities(), copy.responsibilities());
        assert_eq!(copy_of_copy.grants(), &grants);
    }

    #[test]
    fn names_are_1_to_100_characters_and_grants_never_empty() {
        let id = CustomRoleId::generate();
        let grants = Template::Student.grants();
        assert_eq!(check_name("   "), Err(RoleError::Name));
        assert_eq!(check_name(&"é".repeat(100)), Ok("é".repeat(100).as_str()));
        assert_eq!(check_name(&"é".repeat(101)), Err(RoleError::Name));
        assert_eq!(Role::custom(id, "", Grants::EMPTY), Err(RoleError::Name));
        assert_eq!(
            Role::custom(id, "R", Grants::EMPTY),
            Err(RoleError::NoGrants)
        );
        let mut role = Role::stored(
            id,
            "R",
            grants,
            ResponsibilitySet::of(&[Responsibility::GroupManager]),
            None,
        )
        .unwrap();
        assert!(
            role.responsibilities()
                .contains(Responsibility::GroupManager)
        );
        assert_eq!(role.rename(" "), Err(RoleError::Name));
        role.rename(" S ").unwrap();
        assert_eq!(role.name(), "S");
        assert_eq!(role.set_grants(Grants::EMPTY), Err(RoleError::NoGrants));
        assert_eq!(role.grants(), &grants);
    }
}
