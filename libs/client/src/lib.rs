//! The LMS Access client SDK: connect once, get typed clients whose calls carry the bearer token
//! and the caller's trace context.

#![forbid(unsafe_code)]

pub mod output;
pub mod progress;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::catalogue_service_client::CatalogueServiceClient;
use lms_api::delegation::v1::competency_service_client::CompetencyServiceClient;
use lms_api::delegation::v1::content_grant_service_client::ContentGrantServiceClient;
use lms_api::delegation::v1::course_service_client::CourseServiceClient;
use lms_api::delegation::v1::delegation_audit_service_client::DelegationAuditServiceClient;
use lms_api::delegation::v1::enrolment_service_client::EnrolmentServiceClient;
use lms_api::delegation::v1::event_service_client::EventServiceClient;
use lms_api::delegation::v1::lesson_service_client::LessonServiceClient;
use lms_api::delegation::v1::purchase_service_client::PurchaseServiceClient;
use lms_api::delegation::v1::responsibility_service_client::ResponsibilityServiceClient;
use lms_api::identity::v1::approval_service_client::ApprovalServiceClient;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::unit_service_client::UnitServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{IssueServiceTokenRequest, SignInRequest, sign_in_response};
use lms_api::reporting::v1::report_service_client::ReportServiceClient;
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
    connection: Channel,
    channel: Authorized,
}

/// What a sign-in answered.
#[derive(Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// The person's access token.
    Token(String),
    /// The account signs in with a second factor too (SignIn, then VerifyMfa).
    SecondFactor,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignedIn::Token(_) => f.write_str("Token(..)"),
            SignedIn::SecondFactor => f.write_str("SecondFactor"),
        }
    }
}

impl Client {
    /// Connects to `endpoint` (`http://host:port`) and signs calls with `token`.
    pub async fn connect(endpoint: &str, token: &str) -> Result<Client, ClientError> {
        Self::anonymous(endpoint).await?.with_token(token)
    }

    /// Connects to `endpoint` without a token, for the calls that prove a credential instead
    /// (sign-in, a service account's token).
    pub async fn anonymous(endpoint: &str) -> Result<Client, ClientError> {
        let connection = lms_runtime::client::connect(endpoint.to_owned())
            .await
            .map_err(|source| ClientError::Connect {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        Ok(Client {
            channel: InterceptedService::new(connection.clone(), CallCredentials::anonymous()),
            connection,
        })
    }

    /// The same connection, its calls signed with `token` (another caller's, or a fresh one).
    pub fn with_token(&self, token: &str) -> Result<Client, ClientError> {
        let credentials = CallCredentials::bearer(token).map_err(|_| ClientError::Token)?;
        Ok(Client {
            connection: self.connection.clone(),
            channel: InterceptedService::new(self.connection.clone(), credentials),
        })
    }

    /// A service account's access token (the platform operator's, an integration's), from
    /// identity's `IssueServiceToken`.
    pub async fn service_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<String, tonic::Status> {
        let issued = self
            .authentication()
            .issue_service_token(IssueServiceTokenRequest {
                service_account_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                tenant_id: String::new(),
            })
            .await?
            .into_inner();
        Ok(issued.access_token)
    }

    /// Signs a person in with their password, through identity's `SignIn`.
    pub async fn sign_in(
        &self,
        tenant: &str,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, tonic::Status> {
        let signed_in = self
            .authentication()
            .sign_in(SignInRequest {
                tenant_id: tenant.to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
            })
            .await?
            .into_inner();
        match signed_in.outcome {
            Some(sign_in_response::Outcome::Tokens(tokens)) => {
                Ok(SignedIn::Token(tokens.access_token))
            }
            Some(sign_in_response::Outcome::MfaChallenge(_)) => Ok(SignedIn::SecondFactor),
            None => Err(tonic::Status::internal(
                "sign-in answered neither tokens nor a challenge",
            )),
        }
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

    /// Catalogues of courses (delegation).
    pub fn catalogues(&self) -> CatalogueServiceClient<Authorized> {
        CatalogueServiceClient::new(self.channel.clone())
    }

    /// Enrolments and enrolment requests (delegation).
    pub fn enrolments(&self) -> EnrolmentServiceClient<Authorized> {
        EnrolmentServiceClient::new(self.channel.clone())
    }

    /// Events, bookings and attendance (delegation).
    pub fn events(&self) -> EventServiceClient<Authorized> {
        EventServiceClient::new(self.channel.clone())
    }

    /// Shop orders and a Purchaser's invitations (delegation).
    pub fn purchases(&self) -> PurchaseServiceClient<Authorized> {
        PurchaseServiceClient::new(self.channel.clone())
    }

    /// Content a master tenant grants to its clients (delegation).
    pub fn grants(&self) -> ContentGrantServiceClient<Authorized> {
        ContentGrantServiceClient::new(self.channel.clone())
    }

    /// Competency sign-offs (delegation).
    pub fn competencies(&self) -> CompetencyServiceClient<Authorized> {
        CompetencyServiceClient::new(self.channel.clone())
    }

    /// Lessons of courses (delegation).
    pub fn lessons(&self) -> LessonServiceClient<Authorized> {
        LessonServiceClient::new(self.channel.clone())
    }

    /// Course Tutors, Course and Event Administrators (delegation).
    pub fn responsibilities(&self) -> ResponsibilityServiceClient<Authorized> {
        ResponsibilityServiceClient::new(self.channel.clone())
    }

    /// Locations, accounts and account groups (identity).
    pub fn units(&self) -> UnitServiceClient<Authorized> {
        UnitServiceClient::new(self.channel.clone())
    }

    /// People (identity).
    pub fn users(&self) -> UserServiceClient<Authorized> {
        UserServiceClient::new(self.channel.clone())
    }

    /// Groups, their members and managers (identity).
    pub fn groups(&self) -> GroupServiceClient<Authorized> {
        GroupServiceClient::new(self.channel.clone())
    }

    /// The approval of tutor and teacher accounts (identity).
    pub fn approvals(&self) -> ApprovalServiceClient<Authorized> {
        ApprovalServiceClient::new(self.channel.clone())
    }

    /// Identity's audit trail: a tenant's, or the platform's (operators).
    pub fn audit(&self) -> IdentityAuditServiceClient<Authorized> {
        IdentityAuditServiceClient::new(self.channel.clone())
    }

    /// Delegation's audit trail: the tenant's changes to courses, duties, catalogues and
    /// enrolments.
    pub fn delegation_audit(&self) -> DelegationAuditServiceClient<Authorized> {
        DelegationAuditServiceClient::new(self.channel.clone())
    }

    /// Reporting's scoped reports.
    pub fn reports(&self) -> ReportServiceClient<Authorized> {
        ReportServiceClient::new(self.channel.clone())
    }
}

/// Parses `<type>:<id>` (for example `course:0193…`) into an object reference, with
/// `@<tenant>` after it for another tenant's object (a client's, or a course granted to yours).
pub fn reference(text: &str) -> Result<ObjectReference, ClientError> {
    let (object, tenant) = text.split_once('@').unwrap_or((text, ""));
    let (kind, id) = object
        .split_once(':')
        .ok_or_else(|| ClientError::Reference(text.into()))?;
    let kind = ObjectType::from_str_name(&format!("OBJECT_TYPE_{}", kind.to_ascii_uppercase()))
        .filter(|k| *k != ObjectType::Unspecified)
        .ok_or_else(|| ClientError::Reference(text.into()))?;
    Ok(ObjectReference {
        r#type: kind as i32,
        id: id.into(),
        tenant_id: tenant.into(),
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
        let granted = reference("course:abc@master").unwrap();
        assert_eq!(
            (granted.id.as_str(), granted.tenant_id.as_str()),
            ("abc", "master")
        );
        assert!(reference("course:abc").unwrap().tenant_id.is_empty());
    }
}
