//! The gRPC server every service runs: its services plus health and reflection, behind the
//! shared layer stack, with graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::{Service, ServiceBuilder};

use crate::app::{BootError, ServiceContext};
use crate::auth::{AuthLayer, TokenVerifier};
use crate::client::Peer;
use crate::config::{ServerConfig, ServiceName};
use crate::layers::{
    ConcurrencyLimitLayer, PeerLimitLayer, RequestIdLayer, Routes, TenantLimitLayer, TimeoutLayer,
    TraceLayer,
};
use crate::tls::ServerTls;

/// A bound, not yet serving, gRPC server.
pub struct GrpcServer {
    name: ServiceName,
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: RoutesBuilder,
    served: Vec<&'static str>,
    health: HealthReporter,
    auth: AuthLayer,
    /// The verifier behind `auth`: the server serves only once it holds a key.
    verifier: TokenVerifier,
    peer_limit: PeerLimitLayer,
    config: ServerConfig,
    /// Where revoked sessions come from (followed while serving).
    revocations: crate::auth::RevocationFeed,
    /// Identity and the verifier to keep its published keys in, with the period.
    published_keys: Option<(TokenVerifier, Peer, Duration)>,
    /// The server's TLS; `None` serves plaintext.
    tls: Option<ServerTls>,
    /// The prefixes of the plain HTTP services added. A server with any accepts HTTP/1.1
    /// besides HTTP/2; the decision path keeps the plain HTTP/2 connection handling.
    http_served: Vec<&'static str>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("name", &self.name)
            .field("local_addr", &self.local_addr)
            .field("served", &self.served)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// Binds the service's address (port 0 picks a free one), or takes the socket the context
    /// holds already bound. `public_methods` are full gRPC
    /// paths that need no bearer token.
    pub async fn bind(
        context: &ServiceContext,
        public_methods: &[&str],
    ) -> Result<Self, BootError> {
        let listen = context.service.listen;
        let listener = match context.take_bound_listener() {
            Some(bound) => TcpListener::from_std(bound),
            None => TcpListener::bind(listen).await,
        }
        .map_err(|source| BootError::Bind {
            addr: listen,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| BootError::Bind {
            addr: listen,
            source,
        })?;
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Ok(Self {
            name: context.name,
            listener,
            local_addr,
            routes,
            served: Vec::new(),
            health,
            auth: AuthLayer::new(context.verifier.clone(), public_methods),
            verifier: context.verifier.clone(),
            peer_limit: PeerLimitLayer::none(),
            revocations: context.revocations.clone(),
            config: context.server.clone(),
            published_keys: context.published_keys_source().map(|identity| {
                (
                    context.verifier.clone(),
                    identity,
                    Duration::from_secs(context.auth.jwks_refresh_seconds),
                )
            }),
            tls: context.server_tls.clone(),
            http_served: Vec::new(),
        })
    }

    /// Limits how often one peer address may call `methods` (full gRPC paths), per second.
    pub fn limit_per_peer(mut self, methods: &[&str], per_second: u32) -> Self {
        self.peer_limit = PeerLimitLayer::new(methods, per_second);
        self
    }

    /// Adds one gRPC service; it is listed by reflection and reported by health.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.served.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Serves plain HTTP documents under `/.well-known/` on the same port (no token needed).
    pub fn add_well_known(self, documents: crate::well_known::WellKnown) -> Self {
        self.add_http_service(documents)
    }

    /// Serves a plain HTTP service at `/{S::NAME}/` on the same port, HTTP/1.1 accepted (a
    /// shop's webhook). Not listed by reflection or health; it needs no bearer token only when
    /// its prefix is among the server's public methods, and then authenticates requests itself.
    pub fn add_http_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.http_served.push(S::NAME);
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Which service this server is.
    pub fn name(&self) -> ServiceName {
        self.name
    }

    /// The fully-qualified names of the services added.
    pub fn served(&self) -> &[&'static str] {
        &self.served
    }

    /// The verifier of bearer tokens (readiness follows whether it holds a key).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// The health reporter, to mark the server NOT_SERVING when a dependency fails.
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Serves until `shutdown` is cancelled: health turns NOT_SERVING, the listener closes,
    /// in-flight requests get `server.shutdown_grace_ms` to finish.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), BootError> {
        let GrpcServer {
            name,
            listener,
            local_addr,
            mut routes,
            served,
            health,
            auth,
            verifier,
            peer_limit,
            revocations,
            config,
            published_keys,
            tls,
            http_served,
        } = self;
        tokio::spawn(revocations.follow(shutdown.child_token()));
        if let Some((verifier, identity, every)) = published_keys {
            tokio::spawn(crate::auth::follow_identity_keys(
                verifier,
                identity,
                every,
                shutdown.child_token(),
            ));
        }
        // Without a key no token verifies: NOT_SERVING until the first key arrives (the
        // application's readiness watcher reports the change). Waiting is the ordinary start
        // beside identity; the key follower warns when fetching them fails.
        let initial = if verifier.holds_keys() {
            ServingStatus::Serving
        } else {
            tracing::info!(service = %name, "no key to verify tokens with yet; not serving");
            ServingStatus::NotServing
        };
        set_status(&health, &served, initial).await;
        routes.add_service(reflection(&served).build_v1()?);
        routes.add_service(reflection(&served).build_v1alpha()?);

        let stack = ServiceBuilder::new()
            .layer(RequestIdLayer)
            .layer(TraceLayer::new(traced_routes(&served, &http_served)))
            .layer(TimeoutLayer::new(Duration::from_millis(
                config.request_timeout_ms,
            )))
            .layer(peer_limit)
            .layer(auth)
            .layer(TenantLimitLayer::new(config.tenant_concurrency_limit))
            .layer(ConcurrencyLimitLayer::new(config.concurrency_limit))
            // What the request appends to the outbox, for delivering exactly its own events.
            .map_future(crate::outbox::receipt::scope)
            .into_inner();
        // Nagle off: `Server::tcp_nodelay` is ignored with a custom incoming stream.
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let stopping = {
            let shutdown = shutdown.clone();
            let health = health.clone();
            let served = served.clone();
            async move {
                shutdown.cancelled().await;
                set_status(&health, &served, ServingStatus::NotServing).await;
            }
        };
        tracing::info!(
            service = %name,
            addr = %local_addr,
            tls = tls.is_some(),
            mutual_tls = tls.as_ref().is_some_and(ServerTls::is_mutual),
            "serving"
        );
        let mut builder = Server::builder();
        if let Some(tls) = &tls {
            // ALPN is h2 only under TLS: `/.well-known/` documents need an HTTP/2 client then.
            builder = builder.tls_config(tls.config()).map_err(BootError::Serve)?;
        }
        let serve = builder
            .accept_http1(!http_served.is_empty())
            .max_concurrent_streams(Some(config.max_concurrent_streams))
            .layer(stack)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming, stopping);
        let grace = Duration::from_millis(config.shutdown_grace_ms);
        tokio::select! {
            result = serve => result.map_err(BootError::Serve)?,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(service = %name, "shutdown grace expired; dropping open requests");
            }
        }
        tracing::info!(service = %name, "stopped");
        Ok(())
    }
}

/// Sets every served service, and the server as a whole (`""`), to `status`.
pub(crate) async fn set_status(
    health: &HealthReporter,
    served: &[&'static str],
    status: ServingStatus,
) {
    health.set_service_status("", status).await;
    for name in served {
        health.set_service_status(*name, status).await;
    }
}

/// The calls spans and metrics name: the services added, health and reflection, and the
/// plain HTTP prefixes.
fn traced_routes(served: &[&'static str], http_served: &[&'static str]) -> Routes {
    let mut services = served.to_vec();
    services.push("grpc.health.v1.Health");
    Routes::new(
        &services,
        &[
            lms_api::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ],
        http_served,
    )
}

/// Reflection lists exactly what this server serves.
fn reflection(served: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    served.iter().fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(lms_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health"),
        |builder, name| builder.with_service_name(*name),
    )
}
