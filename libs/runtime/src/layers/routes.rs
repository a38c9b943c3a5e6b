//! The calls a server answers, so that spans and metrics name only those. A request's path is
//! the caller's to choose: naming every path would let anyone add metric series without bound
//! (and, once the SDK's cardinality limit is reached, push real ones into its overflow series).

use std::collections::HashSet;
use std::sync::Arc;

use prost::Message;
use prost_types::FileDescriptorSet;

/// What OpenTelemetry's conventions name a method or service that is not one of the server's.
pub const OTHER: &str = "_OTHER";

/// The reflection services every server adds (their descriptors are tonic-reflection's own).
const REFLECTION_METHODS: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The gRPC methods (`package.Service/Method`) and plain HTTP prefixes a server answers.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    methods: Arc<HashSet<String>>,
    http: Arc<[&'static str]>,
}

/// Which kind of call a path is.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// One of the server's gRPC methods.
    Rpc {
        /// `package.Service/Method`.
        name: &'a str,
        /// `package.Service`.
        service: &'a str,
        /// `Method`.
        method: &'a str,
    },
    /// Under one of the server's plain HTTP prefixes (`.well-known`, `webhooks`).
    Http {
        /// The prefix, without slashes.
        prefix: &'static str,
    },
    /// Anything else (it is answered UNIMPLEMENTED or 404).
    Other,
}

impl Routes {
    /// The methods of the gRPC `services` (full names) found in `descriptor_sets` (encoded
    /// `FileDescriptorSet`s), reflection's, and the plain HTTP `prefixes`.
    pub fn new(services: &[&str], descriptor_sets: &[&[u8]], prefixes: &[&'static str]) -> Routes {
        let mut methods: HashSet<String> =
            REFLECTION_METHODS.iter().map(|m| (*m).to_owned()).collect();
        let mut found = 0;
        for encoded in descriptor_sets {
            // The sets are compiled into the binary: one that does not decode is a build error.
            let set = FileDescriptorSet::decode(*encoded).expect("a compiled descriptor set");
            for file in &set.file {
                for service in &file.service {
                    let full = format!("{}.{}", file.package(), service.name());
                    if services.contains(&full.as_str()) {
                        found += 1;
                        methods.extend(
                            service
                                .method
                                .iter()
                                .map(|method| format!("{full}/{}", method.name())),
                        );
                    }
                }
            }
        }
        // A service without its descriptor would be counted as `_OTHER`: a build mistake.
        debug_assert_eq!(found, services.len(), "a served service has no descriptor");
        Routes {
            methods: Arc::new(methods),
            http: prefixes.into(),
        }
    }

    /// What `path` (a request URI's path) is. Exactly one leading slash is taken off: the
    /// router does not route `//pkg.Service/Method`, so it must not be named as that method.
    pub fn route<'a>(&self, path: &'a str) -> Route<'a> {
        let Some(trimmed) = path.strip_prefix('/') else {
            return Route::Other;
        };
        if self.methods.contains(trimmed)
            && let Some((service, method)) = trimmed.split_once('/')
        {
            return Route::Rpc {
                name: trimmed,
                service,
                method,
            };
        }
        let first = trimmed.split('/').next().unwrap_or_default();
        match self.http.iter().find(|prefix| **prefix == first) {
            Some(prefix) => Route::Http { prefix },
            None => Route::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::new(
            &["lms.identity.v1.UserService", "grpc.health.v1.Health"],
            &[
                lms_api::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
            ],
            &[".well-known", "webhooks"],
        )
    }

    #[test]
    fn a_served_method_is_named_by_service_and_method() {
        assert_eq!(
            routes().route("/lms.identity.v1.UserService/GetUser"),
            Route::Rpc {
                name: "lms.identity.v1.UserService/GetUser",
                service: "lms.identity.v1.UserService",
                method: "GetUser"
            }
        );
        assert!(matches!(
            routes().route("/grpc.health.v1.Health/Check"),
            Route::Rpc { .. }
        ));
        assert!(matches!(
            routes().route("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Route::Rpc { .. }
        ));
    }

    #[test]
    fn paths_the_caller_invents_are_other() {
        for path in [
            "/lms.identity.v1.UserService/NoSuchMethod",
            "/grpc.health.v1.Health/anything-at-all",
            // A service of the API that this server does not serve.
            "/lms.authorization.v1.PermissionService/Check",
            // Forms of a served method's path that the router does not route to it.
            "//lms.identity.v1.UserService/GetUser",
            "/lms.identity.v1.UserService/GetUser/",
            "/lms.identity.v1.UserService//GetUser",
            "/lms.identity.v1.UserService/Get%55ser",
            "lms.identity.v1.UserService/GetUser",
            "/",
            "",
        ] {
            assert_eq!(routes().route(path), Route::Other, "{path}");
        }
    }

    #[test]
    fn plain_http_is_named_by_its_prefix_alone() {
        assert_eq!(
            routes().route("/webhooks/shop/0190-any-tenant"),
            Route::Http { prefix: "webhooks" }
        );
        assert_eq!(
            routes().route("/.well-known/jwks.json"),
            Route::Http {
                prefix: ".well-known"
            }
        );
    }
}
