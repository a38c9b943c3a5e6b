//! The shared service runtime of LMS Access: configuration, telemetry, the gRPC server stack
//! (request ids, tracing and RPC metrics, deadlines, bearer-token authentication, concurrency
//! limits, health, reflection, graceful shutdown), the error mapping and the stores.

#![forbid(unsafe_code)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod layers;
pub mod outbox;
pub mod paging;
pub mod peers;
pub mod rate_limit;
pub mod redis;
pub mod redis_acl;
pub mod request;
pub mod sealed;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod transaction;
pub mod well_known;

pub use app::{Application, BootError, ServiceContext};
pub use config::{Config, ServiceName};
pub use error::{ApiError, FieldViolation};
pub use secret::SecretString;
pub use server::GrpcServer;
pub use store::{Database, Migrations};
