use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Request, Response};
use lms_kernel::TenantId;
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use super::BoxFuture;
use crate::auth::Caller;
use crate::error::ApiError;

/// Caps the requests of one tenant in progress (or waiting for a slot) at once: past the cap the
/// tenant's next request is refused at once with RESOURCE_EXHAUSTED (`TENANT_BUSY`). Sits after
/// authentication (the tenant comes from the verified token) and before the service-wide
/// concurrency limit, so a tenant's storm queues against its own share, never everyone's.
/// Requests without a tenant (platform calls, public methods) are not counted.
#[derive(Debug, Clone)]
pub struct TenantLimitLayer {
    limit: usize,
    in_progress: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl TenantLimitLayer {
    /// At most `limit` requests per tenant at once.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            in_progress: Arc::default(),
        }
    }

    /// Takes a place for `tenant`, or says it has none left.
    fn enter(&self, tenant: TenantId) -> Option<Place> {
        let mut counts = self
            .in_progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(tenant).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Place {
            tenant,
            in_progress: self.in_progress.clone(),
        })
    }
}

/// One request's place in its tenant's count, given back when the request ends.
struct Place {
    tenant: TenantId,
    in_progress: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self
            .in_progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.tenant);
            }
        }
    }
}

impl<S> Layer<S> for TenantLimitLayer {
    type Service = TenantLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantLimitService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`TenantLimitLayer`].
#[derive(Debug, Clone)]
pub struct TenantLimitService<S> {
    inner: S,
    layer: TenantLimitLayer,
}

impl<S> Service<Request<Body>> for TenantLimitService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let tenant = request
            .extensions()
            .get::<Caller>()
            .and_then(Caller::tenant);
        let place = match tenant.map(|tenant| (tenant, self.layer.enter(tenant))) {
            Some((tenant, None)) => {
                tracing::info!(%tenant, "tenant concurrency limit reached");
                let status = Status::from(ApiError::ResourceExhausted {
                    reason: "TENANT_BUSY",
                    message: "this tenant has too many requests in progress; retry shortly".into(),
                    retry_after: std::time::Duration::from_millis(100),
                });
                return Box::pin(async move { Ok(status.into_http()) });
            }
            Some((_, place)) => place,
            None => None,
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(place);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_share_and_no_more_and_gives_it_back() {
        let layer = TenantLimitLayer::new(2);
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let first = layer.enter(a).unwrap();
        let _second = layer.enter(a).unwrap();
        assert!(layer.enter(a).is_none(), "a's share is taken");
        assert!(layer.enter(b).is_some(), "b is not affected");
        drop(first);
        assert!(layer.enter(a).is_some(), "a place came back");
    }
}
