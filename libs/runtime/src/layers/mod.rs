//! The tower layers every server runs, outermost first:
//! request id → tracing and RPC metrics → deadline → peer rate limit (the sign-in family) →
//! authentication → per-tenant concurrency cap → concurrency limit.
//!
//! Each layer calls the service it polled ready from `call` itself and wraps that future, so a
//! request clones nothing of the stack below it; only the concurrency limit, which calls its
//! inner service after waiting for a slot, takes the usual ready-clone swap.

mod concurrency;
mod peer_limit;
mod request_id;
mod routes;
mod tenant_limit;
mod timeout;
mod trace;

use std::future::Future;
use std::pin::Pin;

pub use concurrency::ConcurrencyLimitLayer;
pub use peer_limit::PeerLimitLayer;
pub use request_id::{REQUEST_ID_HEADER, RequestId, RequestIdLayer};
pub use routes::{OTHER, Route, Routes};
pub use tenant_limit::TenantLimitLayer;
pub use timeout::TimeoutLayer;
pub use trace::{DURATION_BUCKETS, TraceLayer};

/// The future type of the layers here.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
