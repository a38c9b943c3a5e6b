//! The platform accounts of `lms dev`, made on the first run through the same path as `lms
//! operator init`, their client ids and secrets kept beside the data (owner-only) so that every
//! later run can trade them for tokens: the operator (for the seeding and the developer) and the
//! account delegation pushes course facts with.

use std::path::Path;

use lms_identity::operator::{OperatorCredential, OperatorInitError};
use lms_runtime::auth::{Scope, Scopes};
use lms_runtime::{BootError, ServiceContext};

use super::write_private;

/// Where the operator's client id and secret are kept, as `KEY=value` lines a shell can export.
pub const OPERATOR_FILE: &str = "operator";

/// A platform account `lms dev` keeps.
struct Kept {
    /// The file in the data directory.
    file: &'static str,
    /// The account's name; a suffix is added if a store kept one of that name but the file is
    /// gone.
    name: &'static str,
    /// What it may do.
    scopes: Scopes,
    /// The names its id and secret are kept under: the variables that read them, so sourcing
    /// the operator's file never makes lmsctl act as a service.
    keys: [&'static str; 2],
}

/// The operator the seeding and the developer use.
const OPERATOR: Kept = Kept {
    file: OPERATOR_FILE,
    name: "dev-operator",
    scopes: Scopes::of_const(&[Scope::Operator]),
    keys: ["LMS_CLIENT_ID", "LMS_CLIENT_SECRET"],
};

/// The account delegation trades for tenant-scoped tokens: to push course facts, give the roles
/// a shop order gives and find the order's buyer and invitees by e-mail.
const DELEGATION: Kept = Kept {
    file: "delegation-account",
    name: "delegation",
    scopes: Scopes::of_const(&[Scope::CourseFacts, Scope::ShopRoles, Scope::PeopleLookup]),
    keys: [
        "LMS_DELEGATION__SERVICE_ACCOUNT__ID",
        "LMS_DELEGATION__SERVICE_ACCOUNT__SECRET",
    ],
};

/// The operator's client credentials.
#[derive(Clone)]
pub struct DevOperator {
    /// The service account's id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

impl std::fmt::Debug for DevOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevOperator")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn unusable(path: &Path, reason: impl std::fmt::Display) -> BootError {
    BootError::Config {
        key: "dev.accounts",
        reason: format!("the account kept in {}: {reason}", path.display()),
    }
}

/// The operator kept in `data_dir`, or a new one made in identity's store and kept there.
pub async fn ensure(identity: &ServiceContext, data_dir: &Path) -> Result<DevOperator, BootError> {
    ensure_kept(identity, data_dir, &OPERATOR).await
}

/// Delegation's account kept in `data_dir`, or a new one made and kept there.
pub async fn ensure_delegation(
    identity: &ServiceContext,
    data_dir: &Path,
) -> Result<DevOperator, BootError> {
    ensure_kept(identity, data_dir, &DELEGATION).await
}

async fn ensure_kept(
    identity: &ServiceContext,
    data_dir: &Path,
    wanted: &Kept,
) -> Result<DevOperator, BootError> {
    let path = data_dir.join(wanted.file);
    match std::fs::read_to_string(&path) {
        Ok(kept) => {
            if let Some(kept) = parse(&kept, wanted.keys)
                && still_valid(identity, &kept, wanted.scopes).await?
            {
                return Ok(kept);
            }
            // Rotated or disabled since, the databases replaced, or kept by an older `lms dev`
            // under other names: a new one replaces it.
            tracing::warn!(path = %path.display(), "the kept account is no longer valid; making a new one");
            std::fs::remove_file(&path).map_err(|error| unusable(&path, error))?;
        }
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(unusable(&path, error));
        }
        Err(_) => {}
    }
    let made = make(identity, wanted).await?;
    let operator = DevOperator {
        client_id: made.service_account_id.to_string(),
        client_secret: made.client_secret,
    };
    write_private(&path, &format(&operator, wanted.keys))
        .map_err(|error| unusable(&path, error))?;
    Ok(operator)
}

/// Whether the store still holds the kept account with that secret and every scope (an account
/// kept by an older `lms dev` with fewer is replaced).
async fn still_valid(
    identity: &ServiceContext,
    kept: &DevOperator,
    scopes: Scopes,
) -> Result<bool, BootError> {
    let Ok(id) = uuid::Uuid::try_parse(&kept.client_id) else {
        return Ok(false);
    };
    lms_identity::operator::holds(identity, id, &kept.client_secret, scopes).await
}

async fn make(identity: &ServiceContext, wanted: &Kept) -> Result<OperatorCredential, BootError> {
    let mut attempt = 1;
    loop {
        let name = match attempt {
            1 => wanted.name.to_owned(),
            n => format!("{}-{n}", wanted.name),
        };
        let scopes = wanted.scopes;
        match lms_identity::operator::init_account(identity, &name, scopes).await {
            Err(OperatorInitError::Exists(_)) if attempt < 10 => attempt += 1,
            Err(OperatorInitError::Boot(error)) => return Err(error),
            Err(error) => {
                return Err(BootError::Config {
                    key: "dev.accounts",
                    reason: error.to_string(),
                });
            }
            Ok(made) => return Ok(made),
        }
    }
}

fn format(operator: &DevOperator, [id, secret]: [&str; 2]) -> String {
    format!(
        "{id}={}\n{secret}={}\n",
        operator.client_id, operator.client_secret
    )
}

fn parse(text: &str, [id, secret]: [&str; 2]) -> Option<DevOperator> {
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
            .filter(|value| !value.is_empty())
    };
    Some(DevOperator {
        client_id: value(id)?,
        client_secret: value(secret)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_file_reads_back_what_was_written() {
        let operator = DevOperator {
            client_id: "0193-id".into(),
            client_secret: "lmscs_secret".into(),
        };
        let read = parse(&format(&operator, OPERATOR.keys), OPERATOR.keys).unwrap();
        assert_eq!(
            (read.client_id.as_str(), read.client_secret.as_str()),
            ("0193-id", "lmscs_secret")
        );
        assert!(parse("LMS_CLIENT_ID=x\n", OPERATOR.keys).is_none());
        assert!(parse("LMS_CLIENT_ID=x\nLMS_CLIENT_SECRET=\n", OPERATOR.keys).is_none());
        // Delegation's account is kept under the names its configuration reads.
        let kept = format(&operator, DELEGATION.keys);
        assert!(
            kept.starts_with("LMS_DELEGATION__SERVICE_ACCOUNT__ID="),
            "{kept}"
        );
        assert!(parse(&kept, OPERATOR.keys).is_none());
    }
}
