//! Calls to the platform's other services. Every service that acts on people asks
//! authorization first and pushes the facts it owns there, so that client lives here once.

pub mod authorization;

pub use authorization::{Authorization, ServiceTokens, Visible};
