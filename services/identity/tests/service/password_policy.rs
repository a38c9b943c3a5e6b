//! Passwords an administrator sets are checked beyond their length: not the person's own
//! e-mail name or names, not a common password.

use lms_api::identity::v1::{CreateUserRequest, NewUser};
use tonic::Code;

use crate::fixture::{Platform, fields};

async fn create(platform: &Platform, admin: &str, password: &str) -> Result<(), tonic::Status> {
    platform
        .users(admin)
        .create_user(CreateUserRequest {
            user: Some(NewUser {
                email: "mia.moss@example.org".into(),
                given_name: "Mia".into(),
                family_name: "Moss".into(),
                password: password.into(),
                ..Default::default()
            }),
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_administrator_cannot_give_a_password_holding_the_name_or_a_common_one() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    for password in [
        "MiaMoss2024!!",
        "mia.moss-password",
        "P@ssw0rd2024!",
        "qwertyqwerty",
    ] {
        let refused = create(&platform, &admin, password).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{password}");
        assert_eq!(fields(&refused), ["user.password"], "{password}");
    }
    create(&platform, &admin, "tram forty sings in fog")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_person_cannot_change_to_a_password_holding_their_name_or_a_common_one() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    create(&platform, &admin, "tram forty sings in fog")
        .await
        .unwrap();
    let token = platform
        .sign_in("mia.moss@example.org", "tram forty sings in fog")
        .await
        .unwrap()
        .access_token;
    for password in ["MiaMoss2024!!", "qwertyqwerty"] {
        let refused = platform
            .authn_as(&token)
            .change_password(lms_api::identity::v1::ChangePasswordRequest {
                current_password: "tram forty sings in fog".into(),
                new_password: password.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(fields(&refused), ["new_password"], "{password}");
    }
}
