//! Free text is bounded like the rest of the API: what lands in logs and audit records is short.

use lms_api::identity::v1::SuspendUserRequest;
use tonic::Code;

use crate::fixture::{Platform, fields};

#[tokio::test]
async fn a_suspension_reason_is_at_most_a_thousand_characters() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "sam@example.org", "").await;
    let refused = platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: user.clone(),
            reason: "x".repeat(1001),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["reason"]);
    platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: user,
            reason: "x".repeat(1000),
        })
        .await
        .unwrap();
}
