//! Following the keys identity publishes: every service but identity fetches identity's JWKS
//! (`AuthenticationService/GetJwks`) periodically, and at once when a token names a key it
//! does not know (a rotation it has not seen yet).

use std::time::Duration;

use lms_api::identity::v1::GetJwksRequest;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use tokio_util::sync::CancellationToken;

use super::TokenVerifier;
use crate::client::Peer;

/// The shortest pause between two fetches, so tokens with made-up key ids cannot make a
/// service hammer identity.
const MIN_GAP: Duration = Duration::from_secs(1);
/// The pause after a failed fetch.
const RETRY: Duration = Duration::from_secs(2);

/// Merges identity's JWKS, fetched from `identity` (over TLS when configured: whoever answers
/// there decides which keys sign tokens), into `verifier`'s published keys until `shutdown`.
/// Every answer adds what it names (replicas behind one address may answer different sets);
/// keys expire only by the verifier's retention, also while identity cannot be reached.
pub async fn follow_identity_keys(
    verifier: TokenVerifier,
    identity: Peer,
    every: Duration,
    shutdown: CancellationToken,
) {
    let endpoint = identity.url().to_owned();
    let channel = match identity.endpoint() {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect_lazy(),
        Err(error) => {
            tracing::error!(%error, "identity endpoint unusable; published keys are not followed");
            return;
        }
    };
    let mut client = AuthenticationServiceClient::new(channel);
    let mut failing = false;
    loop {
        let wait = match client.get_jwks(GetJwksRequest {}).await {
            Ok(response) => {
                match verifier.merge_published_keys(&response.into_inner().jwks_json) {
                    Ok(true) => tracing::info!(%endpoint, "signing keys updated from identity"),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%endpoint, %error, "identity published an unusable key set")
                    }
                }
                failing = false;
                every
            }
            Err(status) => {
                // Logged once per outage, not on every retry.
                if !failing {
                    tracing::warn!(%endpoint, error = %status.message(), code = ?status.code(), "cannot fetch signing keys from identity; retrying");
                }
                failing = true;
                if verifier.expire_published_keys() {
                    tracing::warn!(%endpoint, "published signing keys not refreshed in time expired");
                }
                RETRY.min(every)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(MIN_GAP) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait.saturating_sub(MIN_GAP)) => {}
            () = verifier.unknown_key_seen() => {}
        }
    }
}
