//! The identity service of LMS Access.
//!
//! Who a person is: tenants, units, users, employments, groups, credentials, MFA, sign-in,
//! tokens, the approval queue, the Access Coordinator, anonymisation and imports.

#![forbid(unsafe_code)]

pub mod grpc;

use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext};

/// The schema of the identity store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token. Sign-in and key discovery happen before the caller holds a token.
pub const PUBLIC_METHODS: &[&str] = &[
    "/lms.identity.v1.AuthenticationService/SignIn",
    "/lms.identity.v1.AuthenticationService/VerifyMfa",
    "/lms.identity.v1.AuthenticationService/RefreshToken",
    "/lms.identity.v1.AuthenticationService/GetJwks",
    "/lms.identity.v1.AuthenticationService/IssueServiceToken",
];

/// Opens the store, applies migrations and binds the server; call
/// [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let database = context.open_database(&MIGRATIONS).await?;
    let server = grpc::add_services(GrpcServer::bind(&context, PUBLIC_METHODS).await?);
    Ok(Application::new(server, database))
}
