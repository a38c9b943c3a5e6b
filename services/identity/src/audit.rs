//! The audit trail: every change identity makes leaves one record, written by the store in the
//! change's own transaction, so a change is never saved without its record nor recorded without
//! being saved.
//!
//! A record names who acted (a person with the sign-in session of their token, a service or
//! operator by name, or a tenant's integration as `integration:<name>` with the holder it acted
//! for), what they did (a stable code such as `user.suspended`), the object, and the
//! object before and after. The before/after JSON holds ids, codes and flags only: no names,
//! e-mail addresses, free-text reasons, password hashes or secrets (security review M17), so
//! anonymising a person leaves nothing of theirs behind in the trail. Handlers build the
//! [`Audit`] in one line; the store adds the states it read and wrote.

use lms_api::authorization::v1::{AssignRoleRequest, RevokeRoleRequest};
use lms_kernel::{GroupId, TenantId, UnitId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, Agent, Caller, Principal, verified};
use lms_runtime::outbox::{NewEvent, topic};
use prost::Message;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::store::{EmploymentRecord, GroupRecord, TenantRecord, UnitRecord, UserRecord};

/// Who made a change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Actor {
    /// A signed-in person, with the session (`sid`) their token belongs to.
    Person {
        /// Who they are.
        user: UserId,
        /// Their sign-in session; `None` for a token not issued by a sign-in.
        session: Option<String>,
    },
    /// A platform service or an operator, by its account name.
    Service(String),
    /// A tenant's integration, by its account's name, and the holder whose rights it acted
    /// within (`None`: an operator made it).
    Integration {
        /// Its account's name.
        name: String,
        /// Its holder.
        holder: Option<UserId>,
    },
}

impl Actor {
    /// The caller the auth layer verified for `request`.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Self, ApiError> {
        Ok(Self::from_caller(verified(request)?))
    }

    /// A person acting through a guard that kept no session (work that outlives its request,
    /// such as an import): their id alone.
    pub fn acting(acting: &Acting) -> Self {
        Actor::Person {
            user: acting.user,
            session: None,
        }
    }

    /// A person or integration acting through [`lms_runtime::auth::principal`], for work that
    /// outlives its request (a person's session is not kept, as for [`Actor::acting`]).
    pub fn principal(principal: &Principal) -> Self {
        match &principal.agent {
            Agent::Person(user) => Actor::Person {
                user: *user,
                session: None,
            },
            Agent::Integration { name, holder } => Actor::Integration {
                name: name.clone(),
                holder: *holder,
            },
        }
    }

    /// The actor a verified caller is.
    pub fn from_caller(caller: &Caller) -> Self {
        match caller {
            Caller::User { user, session, .. } => Actor::Person {
                user: *user,
                session: session.clone(),
            },
            Caller::Service { name, .. } => Actor::Service(name.clone()),
            Caller::Integration { name, holder, .. } => Actor::Integration {
                name: name.clone(),
                holder: *holder,
            },
        }
    }

    /// The actor as records that keep one text name it (a new user's `created_by`): a person
    /// by their id, a service by its name, an integration qualified and with its holder.
    pub fn name(&self) -> String {
        match self {
            Actor::Person { user, .. } => user.to_string(),
            Actor::Service(name) => name.clone(),
            Actor::Integration { name, holder } => match holder {
                Some(holder) => format!("integration:{name} for {holder}"),
                None => format!("integration:{name}"),
            },
        }
    }

    /// The record of this actor doing `action` to `object`.
    pub fn did(&self, action: &'static str, object: Object) -> Audit {
        Audit {
            actor: self.clone(),
            action,
            object,
            before: None,
            after: None,
            details: Map::new(),
        }
    }
}

/// The object a change is about: its type (a stable code) and id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Object {
    /// `tenant`, `unit`, `user`, `group`, `employment`, `service_account`, `custom_field`.
    pub kind: &'static str,
    /// Its id (a custom field's key).
    pub id: String,
}

impl Object {
    /// A tenant.
    pub fn tenant(id: TenantId) -> Self {
        Self::of("tenant", id)
    }
    /// A unit.
    pub fn unit(id: UnitId) -> Self {
        Self::of("unit", id)
    }
    /// A user.
    pub fn user(id: UserId) -> Self {
        Self::of("user", id)
    }
    /// A group.
    pub fn group(id: GroupId) -> Self {
        Self::of("group", id)
    }
    /// One employment of a user.
    pub fn employment(id: Uuid) -> Self {
        Self::of("employment", id)
    }
    /// A service account.
    pub fn service_account(id: Uuid) -> Self {
        Self::of("service_account", id)
    }
    /// A tenant's custom profile field, by its key (chosen by administrators, not personal).
    pub fn custom_field(key: &str) -> Self {
        Self::of("custom_field", key)
    }

    fn of(kind: &'static str, id: impl ToString) -> Self {
        Self {
            kind,
            id: id.to_string(),
        }
    }
}

/// One change as the store writes it.
#[derive(Clone, PartialEq, Debug)]
pub struct Audit {
    /// Who acted.
    pub actor: Actor,
    /// What they did: `<object>.<past participle>`, for example `user.suspended`.
    pub action: &'static str,
    /// What it was done to.
    pub object: Object,
    before: Option<Value>,
    after: Option<Value>,
    details: Map<String, Value>,
}

impl Audit {
    /// Adds a fact of the change that no state shows (ids, codes, counts only).
    pub fn noting(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The object as it was before the change.
    pub fn before(mut self, state: &impl Audited) -> Self {
        self.before = Some(state.audit_state());
        self
    }

    /// The object as the change left it.
    pub fn after(mut self, state: &impl Audited) -> Self {
        self.after = Some(state.audit_state());
        self
    }

    /// The object before and after the change.
    pub fn changed<T: Audited>(self, before: &T, after: &T) -> Self {
        self.before(before).after(after)
    }

    /// The before JSON; `None` for a creation.
    pub fn before_json(&self) -> Option<String> {
        self.before.as_ref().map(Value::to_string)
    }

    /// The after JSON, with the noted facts; `None` for a deletion that noted nothing.
    pub fn after_json(&self) -> Option<String> {
        let mut after = match &self.after {
            Some(Value::Object(state)) => state.clone(),
            Some(other) => return Some(other.to_string()),
            None if self.details.is_empty() => return None,
            None => Map::new(),
        };
        after.extend(self.details.clone());
        Some(Value::Object(after).to_string())
    }

    /// The acting person, if a person acted, or the holder an integration acted for.
    pub fn actor_user(&self) -> Option<UserId> {
        match &self.actor {
            Actor::Person { user, .. } => Some(*user),
            Actor::Integration { holder, .. } => *holder,
            Actor::Service(_) => None,
        }
    }

    /// The acting person's session, if a person acted from a sign-in.
    pub fn actor_session(&self) -> Option<&str> {
        match &self.actor {
            Actor::Person { session, .. } => session.as_deref(),
            Actor::Service(_) | Actor::Integration { .. } => None,
        }
    }

    /// The acting service's or operator's name, or the integration's as `integration:<name>`
    /// (qualified, so a tenant's account named like a platform service is never taken for it:
    /// review L7), if not a person.
    pub fn actor_service(&self) -> Option<String> {
        match &self.actor {
            Actor::Person { .. } => None,
            Actor::Service(name) => Some(name.clone()),
            Actor::Integration { name, .. } => Some(format!("integration:{name}")),
        }
    }
}

/// A record's state as the audit keeps it: ids, codes and flags, never personal data.
pub trait Audited {
    /// The JSON object of the state.
    fn audit_state(&self) -> Value;
}

impl Audited for UserRecord {
    fn audit_state(&self) -> Value {
        // Names, e-mail, external id and custom field values are personal data; only whether
        // a password is set is kept, never its hash.
        json!({
            "id": self.id.to_string(),
            "status": self.status.code(),
            "account_kind": self.account_kind.code(),
            "restrict_bookings": self.restrict_bookings,
            "primary_group": self.primary_group.map(|g| g.to_string()),
            "password_set": self.password_hash.is_some(),
        })
    }
}

impl Audited for TenantRecord {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "locations_enabled": self.settings.locations_enabled,
            "clients_enabled": self.settings.clients_enabled,
            "mfa_required_for_admins": self.settings.mfa_required_for_admins,
            "master": self.master.map(|t| t.to_string()),
            "access_coordinator": self.access_coordinator.map(|u| u.to_string()),
        })
    }
}

impl Audited for UnitRecord {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "kind": self.kind.code(),
            "parent": self.parent.map(|p| p.to_string()),
        })
    }
}

impl Audited for GroupRecord {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "manager": self.manager.map(|m| m.to_string()),
            "administrators": self.administrators.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }
}

impl Audited for EmploymentRecord {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "user": self.user.to_string(),
            "unit": self.unit.to_string(),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "main_account": self.main_account,
        })
    }
}

/// The events with every role assignment and revocation stamped as made on behalf of the
/// acting person (or integration and its holder), so authorization's audit names them rather
/// than `service:identity` (H9). Events of a service or operator are left as they are.
pub fn on_behalf(events: &[NewEvent], actor: &Actor) -> Vec<NewEvent> {
    let (person, integration) = match actor {
        Actor::Person { user, .. } => (Some(*user), None),
        Actor::Integration { name, holder } => (*holder, Some(name.as_str())),
        Actor::Service(_) => return events.to_vec(),
    };
    let person = person.map(|p| p.to_string()).unwrap_or_default();
    let integration = integration.unwrap_or_default();
    events
        .iter()
        .map(|event| {
            let payload = match event.topic {
                topic::ASSIGN_ROLE => AssignRoleRequest::decode(event.payload.as_slice())
                    .ok()
                    .map(|mut request| {
                        request.on_behalf_of.clone_from(&person);
                        request.on_behalf_of_integration = integration.to_owned();
                        request.encode_to_vec()
                    }),
                topic::REVOKE_ROLE => RevokeRoleRequest::decode(event.payload.as_slice())
                    .ok()
                    .map(|mut request| {
                        request.on_behalf_of.clone_from(&person);
                        request.on_behalf_of_integration = integration.to_owned();
                        request.encode_to_vec()
                    }),
                _ => None,
            };
            NewEvent {
                payload: payload.unwrap_or_else(|| event.payload.clone()),
                ..event.clone()
            }
        })
        .collect()
}

/// Ids as a JSON array of their text forms.
pub fn ids<T: ToString>(ids: &[T]) -> Value {
    Value::Array(ids.iter().map(|id| Value::String(id.to_string())).collect())
}

/// The trail as it is read, shared with delegation's.
pub use lms_runtime::audit::{AuditEntry, AuditFilter};

#[cfg(test)]
mod tests {
    use lms_kernel::{AccountKind, Email, UserStatus};

    use super::*;

    fn person() -> UserRecord {
        UserRecord {
            id: UserId::generate(),
            email: Some(Email::parse("ada@example.org").unwrap()),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            status: UserStatus::Active,
            account_kind: AccountKind::Standard,
            restrict_bookings: false,
            primary_group: None,
            custom_fields: r#"{"badge":"Ada-42"}"#.into(),
            external_id: Some("HR-Ada".into()),
            password_hash: Some("$argon2id$secret".into()),
            last_sign_in_at: None,
            created_by: "someone".into(),
            created_at: 0,
        }
    }

    #[test]
    fn a_user_state_holds_no_personal_data_and_no_hash() {
        let before = person();
        let mut after = before.clone();
        after.status = UserStatus::Suspended;
        let audit = Actor::Service("identity".into())
            .did("user.suspended", Object::user(before.id))
            .changed(&before, &after);
        let text = format!("{:?}{:?}", audit.before_json(), audit.after_json());
        for secret in [
            "ada",
            "Ada",
            "Lovelace",
            "example.org",
            "HR-",
            "argon2",
            "badge",
        ] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        let after: Value = serde_json::from_str(&audit.after_json().unwrap()).unwrap();
        assert_eq!(after["status"], UserStatus::Suspended.code());
        assert_eq!(after["password_set"], true);
    }

    #[test]
    fn a_persons_role_events_name_them_and_a_services_stay_as_they_are() {
        let person = UserId::generate();
        let holder = UserId::generate();
        let events = vec![
            crate::relationships::role_given(holder, lms_kernel::Template::Tutor),
            crate::relationships::role_taken(holder, lms_kernel::Template::Tutor),
        ];
        let by_person = on_behalf(
            &events,
            &Actor::Person {
                user: person,
                session: None,
            },
        );
        let given = AssignRoleRequest::decode(by_person[0].payload.as_slice()).unwrap();
        let taken = RevokeRoleRequest::decode(by_person[1].payload.as_slice()).unwrap();
        assert_eq!(given.on_behalf_of, person.to_string());
        assert_eq!(taken.on_behalf_of, person.to_string());
        assert_eq!(
            by_person[0].event_id, events[0].event_id,
            "the same event, stamped"
        );
        assert_eq!(
            on_behalf(&events, &Actor::Service("operator".into())),
            events
        );
        let by_feed = on_behalf(
            &events,
            &Actor::Integration {
                name: "hr-feed".into(),
                holder: Some(person),
            },
        );
        let given = AssignRoleRequest::decode(by_feed[0].payload.as_slice()).unwrap();
        let taken = RevokeRoleRequest::decode(by_feed[1].payload.as_slice()).unwrap();
        for (on_behalf_of, integration) in [
            (&given.on_behalf_of, &given.on_behalf_of_integration),
            (&taken.on_behalf_of, &taken.on_behalf_of_integration),
        ] {
            assert_eq!(
                (on_behalf_of.as_str(), integration.as_str()),
                (person.to_string().as_str(), "hr-feed")
            );
        }
    }

    #[test]
    fn an_integration_is_named_qualified_with_its_holder() {
        let holder = UserId::generate();
        let audit = Actor::Integration {
            name: "identity".into(),
            holder: Some(holder),
        }
        .did("user.created", Object::user(UserId::generate()));
        assert_eq!(
            audit.actor_service().as_deref(),
            Some("integration:identity")
        );
        assert_eq!(audit.actor_user(), Some(holder));
        assert_eq!(audit.actor_session(), None);
        assert_eq!(
            audit.actor.name(),
            format!("integration:identity for {holder}")
        );
        let trusted = Actor::Integration {
            name: "identity".into(),
            holder: None,
        };
        assert_eq!(trusted.name(), "integration:identity");
        assert_ne!(
            trusted
                .did("user.created", Object::user(holder))
                .actor_service(),
            Actor::Service("identity".into())
                .did("user.created", Object::user(holder))
                .actor_service(),
            "never the platform's identity"
        );
    }

    #[test]
    fn noted_facts_join_the_after_state_and_stand_alone_without_one() {
        let actor = Actor::Service("identity".into());
        let alone = actor
            .did("group.members_added", Object::user(UserId::generate()))
            .noting("count", 2);
        assert_eq!(alone.after_json().unwrap(), r#"{"count":2}"#);
        assert_eq!(alone.before_json(), None);
    }
}
