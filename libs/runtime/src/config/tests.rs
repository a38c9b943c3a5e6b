//! Loading: defaults, file, environment and validation, end to end.

use std::io::Write;

use super::*;
use crate::secret::SecretString;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn defaults_alone_are_valid_and_embedded() {
    let config = Config::load(None, env(&[])).unwrap();
    assert_eq!(config, Config::default());
    assert!(config.identity.database_url.expose().starts_with("sqlite:"));
    assert_eq!(config.redis.url, None);
}

#[test]
fn lmsctl_variables_in_the_environment_are_not_service_configuration() {
    let config = Config::load(
        None,
        env(&[
            ("LMS_TOKEN", "eyJ.a.b"),
            ("LMS_ENDPOINT", "http://127.0.0.1:50052"),
            ("LMS_IDENTITY_ENDPOINT", "http://127.0.0.1:50051"),
        ]),
    );
    assert!(config.is_ok(), "{config:?}");
}

#[test]
fn file_overrides_defaults() {
    let file =
        toml_file("[authorization]\nlisten = \"0.0.0.0:6000\"\n[server]\nconcurrency_limit = 7\n");
    let config = Config::load(Some(file.path()), env(&[])).unwrap();
    assert_eq!(config.authorization.listen, "0.0.0.0:6000".parse().unwrap());
    assert_eq!(config.server.concurrency_limit, 7);
    // Keys the file does not name keep their defaults.
    assert_eq!(config.identity.listen, Config::default().identity.listen);
    assert_eq!(config.server.request_timeout_ms, 10_000);
}

#[test]
fn env_overrides_file() {
    let file = toml_file("[server]\nconcurrency_limit = 7\nrequest_timeout_ms = 50\n");
    let config = Config::load(
        Some(file.path()),
        env(&[
            ("LMS_SERVER__CONCURRENCY_LIMIT", "9"),
            ("LMS_REDIS__URL", "redis://127.0.0.1:6379/2"),
            ("LMS_REDIS__MAC_KEY", "a-test-key-of-at-least-32-characters"),
            (
                "LMS_REDIS__REVOCATIONS_MAC_KEY",
                "another-key-of-at-least-32-characters",
            ),
            ("LMS_TELEMETRY__LOG_FORMAT", "json"),
            ("UNRELATED", "ignored"),
        ]),
    )
    .unwrap();
    assert_eq!(config.server.concurrency_limit, 9);
    assert_eq!(config.server.request_timeout_ms, 50, "file value kept");
    assert_eq!(
        config.redis.url.as_ref().map(SecretString::expose),
        Some("redis://127.0.0.1:6379/2")
    );
    assert_eq!(config.telemetry.log_format, LogFormat::Json);
}

#[test]
fn unknown_keys_are_rejected() {
    let error = Config::load(None, env(&[("LMS_SERVER__CONCURENCY_LIMIT", "9")])).unwrap_err();
    assert!(error.to_string().contains("concurency_limit"), "{error}");
}

#[test]
fn wrong_types_name_the_key() {
    let error = Config::load(None, env(&[("LMS_SERVER__CONCURRENCY_LIMIT", "many")])).unwrap_err();
    assert!(error.to_string().contains("concurrency_limit"), "{error}");
}

#[test]
fn invalid_values_name_the_key_and_hide_secrets() {
    let error = Config::load(
        None,
        env(&[(
            "LMS_IDENTITY__DATABASE_URL",
            "mysql://root:hunter2@db/identity",
        )]),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("identity.database_url"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn a_missing_config_file_is_an_error() {
    let error = Config::load(Some(Path::new("/nonexistent/lms.toml")), env(&[])).unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
}

/// The documented file must load and say exactly what the defaults are.
#[test]
fn the_example_config_file_is_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lms.example.toml");
    let config = Config::load(Some(&path), Vec::new()).unwrap();
    assert_eq!(config, Config::default());
}

/// Every `LMS_` variable the Kubernetes base sets (the ConfigMap's keys and each Deployment's
/// and the Job's `env`), with the literal value it gives or, for one from the Secret, a value
/// of the kind the Secret must hold.
fn kubernetes_variables() -> Vec<(String, String)> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../k8s/base");
    let secret_like = |name: &str| -> String {
        match name {
            n if n.ends_with("DATABASE_URL") => "postgres://lms@db:5432/lms".into(),
            n if n.ends_with("REDIS__URL") => "redis://lms@redis:6379".into(),
            n if n.ends_with("KEY_ENCRYPTION_KEYS") => {
                "k1=bG1zLXRlc3Qta2V5LWVuY3J5cHRpb24ta2V5LTAwMDE=".into()
            }
            _ => "a-secret-of-at-least-thirty-two-characters".into(),
        }
    };
    let mut variables = Vec::new();
    for entry in std::fs::read_dir(&base).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(name) = line.strip_prefix("- name: LMS_") {
                let name = format!("LMS_{name}");
                let value = match lines.get(i + 1).and_then(|l| l.strip_prefix("value: ")) {
                    Some(value) => value.trim_matches('"').to_owned(),
                    None => secret_like(&name),
                };
                variables.push((name, value));
            } else if let Some((name, value)) = line.split_once(": ")
                && name.starts_with("LMS_")
            {
                variables.push((name.to_owned(), value.trim_matches('"').to_owned()));
            }
        }
    }
    variables
}

#[test]
fn the_kubernetes_manifests_set_only_real_settings() {
    let variables = kubernetes_variables();
    // The ConfigMap, each service's own listen address and database, and the Secret's keys.
    assert!(variables.len() >= 20, "{variables:?}");
    let config = Config::load(None, variables.clone())
        .unwrap_or_else(|e| panic!("{e}: the manifests set {variables:?}"));
    for name in ServiceName::ALL {
        let service = config.service(name);
        assert!(!service.apply_migrations, "{name} would migrate itself");
        assert!(
            service.listen.ip().is_unspecified(),
            "{name} listens on {}",
            service.listen
        );
        assert!(service.database_url.expose().starts_with("postgres://"));
    }
    assert_eq!(config.telemetry.log_format, LogFormat::Json);
}

#[test]
fn each_section_names_its_own_key() {
    let cases = [
        (
            "LMS_REPORTING__MAX_CONNECTIONS",
            "0",
            "reporting.max_connections",
        ),
        (
            "LMS_SERVER__REQUEST_TIMEOUT_MS",
            "0",
            "server.request_timeout_ms",
        ),
        (
            "LMS_AUTH__JWKS_REFRESH_SECONDS",
            "0",
            "auth.jwks_refresh_seconds",
        ),
        ("LMS_REDIS__MAC_KEY", "short", "redis.mac_key"),
        ("LMS_REDIS__EVENTS_MAC_KEY", "short", "redis.events_mac_key"),
        (
            "LMS_REDIS__REVOCATIONS_MAC_KEY",
            "short",
            "redis.revocations_mac_key",
        ),
        // A Redis without the key that authenticates ended sessions in it.
        (
            "LMS_REDIS__URL",
            "redis://127.0.0.1:6379",
            "redis.revocations_mac_key",
        ),
        ("LMS_CACHE__CAPACITY", "0", "cache.max_staleness_ms"),
        (
            "LMS_SIGN_IN__ARGON2_ITERATIONS",
            "0",
            "sign_in.argon2_memory_kib",
        ),
        (
            "LMS_SIGN_IN__SIGNING_KEY_RELOAD_SECONDS",
            "43200",
            "sign_in.signing_key_reload_seconds",
        ),
        (
            "LMS_AUTH__JWKS_REFRESH_SECONDS",
            "61",
            "auth.jwks_refresh_seconds",
        ),
        (
            "LMS_TELEMETRY__TRACE_SAMPLE_RATIO",
            "2.0",
            "telemetry.trace_sample_ratio",
        ),
    ];
    for (variable, value, key) in cases {
        let error = Config::load(None, env(&[(variable, value)])).unwrap_err();
        assert!(error.to_string().contains(&format!("`{key}`")), "{error}");
    }
}

#[test]
fn a_service_account_comes_from_the_environment_and_never_prints_its_secret() {
    let config = Config::load(
        None,
        env(&[
            ("LMS_DELEGATION__SERVICE_ACCOUNT__ID", "0193-account"),
            (
                "LMS_DELEGATION__SERVICE_ACCOUNT__SECRET",
                "lmscs_very_secret",
            ),
        ]),
    )
    .unwrap();
    let account = config.delegation.service_account.clone().unwrap();
    assert_eq!(account.id, "0193-account");
    assert_eq!(account.secret.expose(), "lmscs_very_secret");
    assert!(!format!("{config:?}").contains("lmscs_very_secret"));
    let error = Config::load(
        None,
        env(&[("LMS_DELEGATION__SERVICE_ACCOUNT__ID", "0193-account")]),
    )
    .unwrap_err();
    assert!(error.to_string().contains("service_account"), "{error}");
}
