//! The bearer header is read once, by the auth layer, for every handler: any case of the
//! scheme, surrounding spaces trimmed (RFC 7235), and the same token forwarded on.

use lms_api::identity::v1::GetUserRequest;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use tonic::metadata::MetadataValue;

use crate::fixture::Platform;

#[tokio::test]
async fn a_lowercase_bearer_scheme_acts_like_the_canonical_one() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "lee@example.org", "").await;
    let header: MetadataValue<_> = format!("bearer  {admin} ").parse().unwrap();
    // GetUser acts as the caller and forwards their token to authorization.
    let mut users = UserServiceClient::with_interceptor(
        platform.identity.channel(),
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
            Ok(request)
        },
    );
    let shown = users
        .get_user(GetUserRequest {
            user_id: user.clone(),
        })
        .await
        .expect("a valid token in a lowercase scheme is accepted")
        .into_inner()
        .user
        .unwrap();
    assert_eq!(shown.user_id, user);
}
