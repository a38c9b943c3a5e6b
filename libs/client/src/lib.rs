//! The LMS Access client SDK: connect once, get typed clients whose calls carry the bearer token
//! and the caller's trace context.

#![forbid(unsafe_code)]

pub mod output;
pub mod progress;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::course_service_client::CourseServiceClient;
use lms_api::delegation::v1::lesson_service_client::LessonServiceClient;
use lms_api::delegation::v1::responsibility_service_client::ResponsibilityServiceClient;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_runtime::client::CallCredentials;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A channel whose calls carry the credentials.
pub type Authorized = InterceptedService<Channel, CallCredentials>;

/// Why a client could not be made or a reference parsed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint could not be reached.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// The token is not printable ASCII.
    #[error("the token is not a valid header value")]
    Token,
    /// An object reference is not `<type>:<id>`.
    #[error(
        "{0:?} is not <type>:<id> (types: user, unit, group, course, lesson, event, tenant, role, catalogue, cpd_programme, report, content_item)"
    )]
    Reference(String),
}

/// A connection to one service with the caller's token.
#[derive(Debug, Clone)]
pub struct Client {
    channel: Authorized,
}

impl Client {
    /// Connects to `endpoint` (`http://host:port`) and signs calls with `token`.
    pub async fn connect(endpoint: &str, token: &str) -> Result<Client, ClientError> {
        let credentials = CallCredentials::bearer(token).map_err(|_| ClientError::Token)?;
        Self::with(endpoint, credentials).await
    }

    /// Connects to `endpoint` without a token, for the calls that prove a credential instead
    /// (sign-in, a service account's token).
    pub async fn anonymous(endpoint: &str) -> Result<Client, ClientError> {
        Self::with(endpoint, CallCredentials::anonymous()).await
    }

    async fn with(endpoint: &str, credentials: CallCredentials) -> Result<Client, ClientError> {
        let channel = lms_runtime::client::connect(endpoint.to_owned())
            .await
            .map_err(|source| ClientError::Connect {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        Ok(Client {
            channel: InterceptedService::new(channel, credentials),
        })
    }

    /// Decisions.
    pub fn permissions(&self) -> PermissionServiceClient<Authorized> {
        PermissionServiceClient::new(self.channel.clone())
    }

    /// Role definitions.
    pub fn roles(&self) -> RoleServiceClient<Authorized> {
        RoleServiceClient::new(self.channel.clone())
    }

    /// Role assignments.
    pub fn assignments(&self) -> RoleAssignmentServiceClient<Authorized> {
        RoleAssignmentServiceClient::new(self.channel.clone())
    }

    /// Sign-in, tokens and service accounts (identity).
    pub fn authentication(&self) -> AuthenticationServiceClient<Authorized> {
        AuthenticationServiceClient::new(self.channel.clone())
    }

    /// Tenants, their clients and Master Administrators (identity).
    pub fn tenants(&self) -> TenantServiceClient<Authorized> {
        TenantServiceClient::new(self.channel.clone())
    }

    /// CSV imports (identity).
    pub fn imports(&self) -> ImportServiceClient<Authorized> {
        ImportServiceClient::new(self.channel.clone())
    }

    /// Courses (delegation).
    pub fn courses(&self) -> CourseServiceClient<Authorized> {
        CourseServiceClient::new(self.channel.clone())
    }

    /// Lessons of courses (delegation).
    pub fn lessons(&self) -> LessonServiceClient<Authorized> {
        LessonServiceClient::new(self.channel.clone())
    }

    /// Course Tutors, Course and Event Administrators (delegation).
    pub fn responsibilities(&self) -> ResponsibilityServiceClient<Authorized> {
        ResponsibilityServiceClient::new(self.channel.clone())
    }
}

/// Parses `<type>:<id>` (for example `course:0193…`) into an object reference.
pub fn reference(text: &str) -> Result<ObjectReference, ClientError> {
    let (kind, id) = text
        .split_once(':')
        .ok_or_else(|| ClientError::Reference(text.into()))?;
    let kind = ObjectType::from_str_name(&format!("OBJECT_TYPE_{}", kind.to_ascii_uppercase()))
        .filter(|k| *k != ObjectType::Unspecified)
        .ok_or_else(|| ClientError::Reference(text.into()))?;
    Ok(ObjectReference {
        r#type: kind as i32,
        id: id.into(),
        tenant_id: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_type_and_id() {
        let parsed = reference("course:abc").unwrap();
        assert_eq!(
            (parsed.r#type, parsed.id.as_str()),
            (ObjectType::Course as i32, "abc")
        );
        assert_eq!(
            reference("cpd_programme:x").unwrap().r#type,
            ObjectType::CpdProgramme as i32
        );
        assert!(reference("wizard:x").is_err() && reference("nocolon").is_err());
    }
}
