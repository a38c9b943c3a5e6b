//! The LMS Access domain kernel: the types and rules every service shares.
//!
//! It does no I/O (no tokio, tonic or sqlx), so every rule is a pure function that can be tested
//! exhaustively and benchmarked in isolation.

#![forbid(unsafe_code)]

pub mod ids;
pub mod permission;
pub mod reach;

pub use ids::{IdError, TenantId, UserId};
pub use permission::{Permission, PermissionSet};
pub use reach::Reach;
