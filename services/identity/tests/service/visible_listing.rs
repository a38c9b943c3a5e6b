//! ListUsers reads what the caller may see a chunk at a time, in step with its own pages: a
//! caller who sees more people than one chunk (twice the page) still pages through all of
//! them, and nobody else, also when a filter passes only some of each chunk.

use std::collections::BTreeSet;

use lms_api::common::v1::UserStatus;
use lms_api::identity::v1::{
    CreateGroupRequest, ListUsersRequest, SetGroupManagerRequest, SetPrimaryGroupRequest,
    SuspendUserRequest,
};

use crate::fixture::{Platform, USER_PASSWORD};

/// Every user id ListUsers answers `token`'s holder, following pages of two.
async fn every_page(platform: &Platform, token: &str, status: UserStatus) -> Vec<String> {
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = platform
            .users(token)
            .list_users(ListUsersRequest {
                page_size: 2,
                page_token,
                status: status as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            return seen;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn a_manager_who_sees_more_than_one_chunk_pages_through_exactly_their_team() {
    pages_through_exactly_the_team(Platform::start().await).await;
}

#[tokio::test]
async fn a_manager_who_sees_more_than_one_chunk_pages_through_exactly_their_team_on_sqlite() {
    pages_through_exactly_the_team(Platform::start_on_sqlite_with(|_| {}).await).await;
}

async fn pages_through_exactly_the_team(platform: Platform) {
    let admin = platform.admin_token().await;
    let mona = platform.create_user(&admin, "mona@example.org", "").await;
    platform.assign(&admin, &mona, "manager", "").await;
    let team = platform
        .groups(&admin)
        .create_group(CreateGroupRequest {
            name: "Team".into(),
            external_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id;
    platform
        .groups(&admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: team.clone(),
            manager_user_id: mona.clone(),
        })
        .await
        .unwrap();
    // Team members and outsiders alternate, so their ids interleave.
    let (mut members, mut outsiders) = (Vec::new(), Vec::new());
    for n in 0..9 {
        let id = platform
            .create_user(&admin, &format!("t{n}@example.org"), "")
            .await;
        platform
            .groups(&admin)
            .set_primary_group(SetPrimaryGroupRequest {
                user_id: id.clone(),
                group_id: team.clone(),
            })
            .await
            .unwrap();
        members.push(id);
        if n % 2 == 0 {
            let outsider = platform
                .create_user(&admin, &format!("o{n}@example.org"), "")
                .await;
            outsiders.push(outsider);
        }
    }
    let mona_token = platform
        .sign_in("mona@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;

    // Ten people visible (the team and herself), read six at a time for pages of two.
    let seen = every_page(&platform, &mona_token, UserStatus::Unspecified).await;
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "nobody is listed twice");
    let expected: BTreeSet<_> = members.iter().chain([&mona]).cloned().collect();
    assert_eq!(unique, expected, "the whole team and herself, nobody else");
    assert!(outsiders.iter().all(|o| !unique.contains(o)));

    // A filter that passes only some of each chunk still reaches the end.
    for member in members.iter().step_by(2) {
        platform
            .users(&admin)
            .suspend_user(SuspendUserRequest {
                user_id: member.clone(),
                reason: "test".into(),
            })
            .await
            .unwrap();
    }
    let suspended: BTreeSet<_> = every_page(&platform, &mona_token, UserStatus::Suspended)
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<_> = members.iter().step_by(2).cloned().collect();
    assert_eq!(suspended, expected);
}
