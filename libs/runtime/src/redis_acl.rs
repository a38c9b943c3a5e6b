//! Who may touch what in the shared Redis (security review H8): each service connects as its own
//! Redis ACL user that reaches only its own keys, so a compromised reporting pod cannot plant or
//! drop authorization's cache entries, and only identity can publish revoked sessions.
//!
//! The rules are derived from the key names the code uses (this module holds them), so they
//! cannot drift apart: `lms redis-acl <service>` prints them for `ACL SETUSER`.

use crate::config::ServiceName;

/// Authorization's namespace, after the deployment's prefix: cached facts, tenant floors and the
/// invalidation channel.
pub const AUTHORIZATION_NAMESPACE: &str = "authz:";

/// The services' event streams, after the deployment's prefix: `events:<service>`, each added
/// to by its service alone.
pub const EVENTS_NAMESPACE: &str = "events:";

/// The sorted set of revoked sessions, after the deployment's prefix: identity writes it and
/// every service reads it.
pub const REVOCATIONS_KEY: &str = "revoked-sessions";

/// Commands every service needs to hold a connection: authenticate, `HELLO`, `PING`, and the
/// `CLIENT` subcommands a client names itself with. Not `+@connection`, which would also grant
/// `CLIENT KILL` and `CLIENT PAUSE` (one service could freeze Redis for all of them). Not
/// `CLIENT SETINFO` either: Redis 7.0 does not know it (the client ignores its refusal).
const CONNECTION: [&str; 5] = ["+auth", "+hello", "+ping", "+client|setname", "+client|id"];

/// The ACL rules of `service`'s Redis user for a deployment whose keys start with `prefix`: the
/// tokens after `ACL SETUSER <user>` (add `on` and a `>password`). Each starts from nothing (no
/// keys, channels, selectors or commands) and allows only what the service uses.
pub fn rules(service: ServiceName, prefix: &str) -> Vec<String> {
    let revocations = format!("{prefix}{REVOCATIONS_KEY}");
    let mut rules = vec![
        "resetkeys".to_owned(),
        "resetchannels".to_owned(),
        "clearselectors".to_owned(),
        "-@all".to_owned(),
    ];
    rules.extend(CONNECTION.map(str::to_owned));
    rules.extend([
        // Every verifier follows the revoked sessions.
        format!("%R~{revocations}"),
        "+zrangebyscore".to_owned(),
    ]);
    // A service with an outbox adds its committed events to its own stream (outbox::Publisher),
    // trimmed as it adds (`XADD ... MAXLEN ~`), and to no other. A selector, so XADD reaches
    // that key alone and the service's other commands do not reach it (identity's ZADD on its
    // events, or XADD turning the revoked sessions into a stream). Batches go in MULTI/EXEC.
    if crate::outbox::PUBLISHERS.contains(&service) {
        rules.extend([
            format!("(~{prefix}{} +xadd)", crate::outbox::stream_key(service)),
            "+multi".to_owned(),
            "+exec".to_owned(),
        ]);
    }
    match service {
        ServiceName::Identity => rules.extend([
            format!("%RW~{revocations}"),
            "+zadd".to_owned(),
            "+zremrangebyscore".to_owned(),
        ]),
        ServiceName::Authorization => {
            let own = format!("{prefix}{AUTHORIZATION_NAMESPACE}");
            rules.extend([
                format!("~{own}*"),
                format!("&{own}*"),
                // Cached entries and tombstones (set by a script that compares revisions),
                // floors (raised by a script), invalidations.
                "+get".to_owned(),
                "+mget".to_owned(),
                "+psetex".to_owned(),
                "+set".to_owned(),
                "+del".to_owned(),
                "+eval".to_owned(),
                "+evalsha".to_owned(),
                // The run id, from `INFO server` only (not the clients or keyspace sections):
                // entries of an earlier Redis run are not used.
                "+info|server".to_owned(),
                "+publish".to_owned(),
                "+subscribe".to_owned(),
                "+unsubscribe".to_owned(),
            ]);
        }
        // Reporting reads every service's events in its consumer group (creating the group,
        // reading, acknowledging, taking over entries a stopped replica left, measuring the
        // backlog, removing consumers long gone), and may add to none.
        ServiceName::Reporting => rules.extend([
            format!("~{prefix}{EVENTS_NAMESPACE}*"),
            "+xgroup|create".to_owned(),
            "+xreadgroup".to_owned(),
            "+xack".to_owned(),
            "+xautoclaim".to_owned(),
            "+xinfo|groups".to_owned(),
            "+xinfo|stream".to_owned(),
            "+xinfo|consumers".to_owned(),
            "+xgroup|delconsumer".to_owned(),
        ]),
        // Delegation verifies tokens and publishes its events (above).
        ServiceName::Delegation => {}
    }
    rules
}

/// The Redis user name we suggest for `service`.
pub fn user(service: ServiceName) -> String {
    format!("lms-{}", service.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_authorization_reaches_its_namespace_and_only_identity_writes_revocations() {
        for service in ServiceName::ALL {
            let rules = rules(service, "lms:");
            assert_eq!(
                rules[..4],
                ["resetkeys", "resetchannels", "clearselectors", "-@all"]
            );
            assert!(rules.contains(&"%R~lms:revoked-sessions".to_owned()));
            assert_eq!(
                rules.iter().any(|r| r == "~lms:authz:*"),
                service == ServiceName::Authorization
            );
            assert_eq!(
                rules.iter().any(|r| r == "%RW~lms:revoked-sessions"),
                service == ServiceName::Identity
            );
            assert!(
                !rules
                    .iter()
                    .any(|r| r == "~*" || r == "allkeys" || r == "+@all")
            );
        }
        assert_eq!(user(ServiceName::Reporting), "lms-reporting");
        let identity = rules(ServiceName::Identity, "lms:");
        assert!(identity.contains(&"(~lms:events:identity +xadd)".to_owned()));
        assert!(!identity.iter().any(|r| r.contains("events:delegation")));
    }

    #[test]
    fn only_services_with_an_outbox_add_to_a_stream_and_each_to_its_own() {
        for service in ServiceName::ALL {
            let rules = rules(service, "lms:");
            let streams: Vec<&String> = rules.iter().filter(|r| r.contains("events:")).collect();
            let expected = match service {
                ServiceName::Identity | ServiceName::Authorization | ServiceName::Delegation => {
                    vec![format!("(~lms:events:{} +xadd)", service.as_str())]
                }
                // Reporting reads them all, adding to none.
                ServiceName::Reporting => vec!["~lms:events:*".to_owned()],
            };
            assert_eq!(streams, expected.iter().collect::<Vec<_>>(), "{service}");
            assert!(
                !rules.contains(&"+xadd".to_owned()),
                "XADD only within the selector"
            );
            assert_eq!(
                rules.contains(&"+exec".to_owned()),
                service != ServiceName::Reporting
            );
        }
    }
}
