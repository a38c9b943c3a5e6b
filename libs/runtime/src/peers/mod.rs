//! Calls to the platform's other services. Every service that acts on people asks
//! authorization first and pushes the facts it owns there, so that client lives here once;
//! the services that do not sign tokens get theirs from identity.

pub mod authorization;
pub mod identity;

pub use authorization::{Authorization, CallersOnly, Listing, ServiceTokens, Visible};
pub use identity::{Identity, IdentityTokens, Members};
