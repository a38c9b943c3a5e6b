//! Credentials traded for tokens: `token` (a service account's client id and secret, as the
//! platform operator or an integration holds them) and `sign-in` (a person's e-mail and
//! password). Both print the bare access token, for `export LMS_TOKEN=$(lmsctl ...)`.

use std::io::BufRead;

use anyhow::Context;
use lms_client::{Client, SignedIn};

/// A service account's access token, from identity's `IssueServiceToken`.
pub async fn token(identity: &str, client_id: &str, client_secret: &str) -> anyhow::Result<String> {
    Client::anonymous(identity)
        .await?
        .service_token(client_id, client_secret)
        .await
        .context("token")
}

/// A person's access token, from identity's `SignIn`.
pub async fn sign_in(
    identity: &str,
    tenant: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let signed_in = Client::anonymous(identity)
        .await?
        .sign_in(tenant, email, password)
        .await
        .context("sign-in")?;
    match signed_in {
        SignedIn::Token(token) => Ok(token),
        SignedIn::SecondFactor => anyhow::bail!(
            "this account signs in with a second factor, which lmsctl does not ask for yet; \
             sign in through the API (SignIn, then VerifyMfa)"
        ),
    }
}

/// The password: the first line of standard input with `--password-stdin`, else `LMS_PASSWORD`.
/// Never a command-line argument, which other users of the machine can read.
pub fn password(from_stdin: bool, from_env: Option<String>) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        from_env.unwrap_or_default()
    };
    if password.is_empty() {
        anyhow::bail!("no password: pipe it in with --password-stdin, or set LMS_PASSWORD");
    }
    Ok(password)
}
