//! What `lms operator init` (and `lms dev`, which makes one for itself) tells the operator.

use lms_identity::operator::OperatorCredential;

/// How to use a fresh operator account: its client id and secret as the variables `lmsctl`
/// reads, and the first commands.
pub fn banner(made: &OperatorCredential) -> String {
    format!(
        "Platform operator account {name:?} created. Its secret is shown this once (identity keeps \
         only a hash): keep it in your secret store.\n\n  \
         LMS_CLIENT_ID={id}\n  LMS_CLIENT_SECRET={secret}\n\n\
         Trade them for a short-lived operator token, then act as the operator:\n  \
         export LMS_CLIENT_ID={id} LMS_CLIENT_SECRET=<the secret above>\n  \
         export LMS_TOKEN=$(lmsctl token)\n  \
         lmsctl tenants create \"Acme Training\" --admin-email admin@acme.example\n  \
         lmsctl service-accounts list\n",
        name = made.name,
        id = made.service_account_id,
        secret = made.client_secret,
    )
}
