//! The tower layers every server runs, outermost first:
//! request id → tracing and RPC metrics → deadline → authentication → concurrency limit.

mod concurrency;
mod request_id;
mod timeout;
mod trace;

use std::future::Future;
use std::pin::Pin;

pub use concurrency::ConcurrencyLimitLayer;
pub use request_id::{REQUEST_ID_HEADER, RequestId, RequestIdLayer};
pub use timeout::TimeoutLayer;
pub use trace::TraceLayer;

/// The future type of the layers here.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
