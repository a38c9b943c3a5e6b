//! `lms health`: asks a running service, over the standard gRPC health protocol (which needs
//! no token), whether it serves. For checks from outside a container (`make image-test`) and
//! for exec probes where Kubernetes' own gRPC probe cannot speak TLS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use lms_runtime::client::Peer;
use lms_runtime::tls::PeerTls;
use lms_runtime::{Config, ServiceName};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Where `service` is asked: `endpoint` when given, else its own listen address on this
/// machine (a wildcard one on loopback), as an exec probe inside its pod asks it; `https://`
/// when the peers' TLS is configured.
pub fn endpoint_of(
    config: &Config,
    service: ServiceName,
    endpoint: Option<String>,
) -> anyhow::Result<String> {
    if let Some(endpoint) = endpoint {
        return Ok(endpoint);
    }
    let listen = config.service(service).listen;
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if PeerTls::from_config(&config.peers)?.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(format!("{scheme}://{}", SocketAddr::new(ip, listen.port())))
}

/// The serving status the server at `url` answers for itself as a whole (health's empty
/// service name), asked with the peers' TLS from `config` for `https://` URLs, within
/// `timeout`.
pub async fn status(
    config: &Config,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<ServingStatus> {
    let tls = PeerTls::from_config(&config.peers)?;
    let ask = async {
        let channel = Peer::new(url, tls).connect().await?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?
            .into_inner();
        anyhow::Ok(ServingStatus::try_from(answer.status).unwrap_or(ServingStatus::Unknown))
    };
    tokio::time::timeout(timeout, ask)
        .await
        .with_context(|| format!("{url} did not answer within {timeout:?}"))?
        .with_context(|| format!("asking {url} for its health"))
}
