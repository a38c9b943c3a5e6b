//! Groups: a user's primary group is their team and its manager their line manager; Group
//! Administrators see the members of groups they administer; every change reaches decisions
//! with its consistency token.

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    AddGroupMembersRequest, CreateGroupRequest, DeleteGroupRequest, GetGroupRequest,
    ListGroupMembersRequest, RemoveGroupMembersRequest, SetGroupAdministratorRequest,
    SetGroupManagerRequest, SetPrimaryGroupRequest,
};
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, fields, object, reason};

async fn new_group(platform: &Platform, admin: &str, name: &str) -> String {
    platform
        .groups(admin)
        .create_group(CreateGroupRequest {
            name: name.into(),
            external_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id
}

async fn members(platform: &Platform, admin: &str, group: &str) -> Vec<String> {
    platform
        .groups(admin)
        .list_group_members(ListGroupMembersRequest {
            group_id: group.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .user_ids
}

#[tokio::test]
async fn a_manager_sees_the_people_whose_primary_group_they_manage_and_loses_them_on_removal() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (mona, mona_token) = platform.holder(&admin, "mona@example.org", "manager").await;
    let team = new_group(&platform, &admin, "Sales").await;
    let lee = platform.create_user(&admin, "lee@example.org", "").await;
    let other = platform.create_user(&admin, "other@example.org", "").await;

    platform
        .groups(&admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: team.clone(),
            manager_user_id: mona.clone(),
        })
        .await
        .unwrap();
    let joined = platform
        .groups(&admin)
        .set_primary_group(SetPrimaryGroupRequest {
            user_id: lee.clone(),
            group_id: team.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let lee_ref = object(ObjectType::User, &lee);
    assert!(
        platform
            .allowed(
                &mona_token,
                "users.read",
                lee_ref.clone(),
                joined.written_at
            )
            .await,
        "the line manager sees their team member"
    );
    assert!(
        !platform
            .allowed(
                &mona_token,
                "users.read",
                object(ObjectType::User, &other),
                None
            )
            .await
    );
    assert_eq!(
        members(&platform, &admin, &team).await,
        std::slice::from_ref(&lee)
    );

    let removed = platform
        .groups(&admin)
        .remove_group_members(RemoveGroupMembersRequest {
            group_id: team.clone(),
            user_ids: vec![lee.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !platform
            .allowed(&mona_token, "users.read", lee_ref, removed.written_at)
            .await,
        "leaving the team ends the manager's view with the removal's token"
    );
}

#[tokio::test]
async fn a_manager_who_administers_another_group_sees_its_members_beside_their_team() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (mona, mona_token) = platform.holder(&admin, "mona@example.org", "manager").await;
    let support = new_group(&platform, &admin, "Support").await;
    let sue = platform.create_user(&admin, "sue@example.org", "").await;
    platform
        .groups(&admin)
        .add_group_members(AddGroupMembersRequest {
            group_id: support.clone(),
            user_ids: vec![sue.clone()],
        })
        .await
        .unwrap();
    let sue_ref = object(ObjectType::User, &sue);
    assert!(
        !platform
            .allowed(&mona_token, "users.read", sue_ref.clone(), None)
            .await
    );
    let covering = platform
        .groups(&admin)
        .set_group_administrator(SetGroupAdministratorRequest {
            group_id: support.clone(),
            user_id: mona.clone(),
            administrator: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        platform
            .allowed(&mona_token, "users.read", sue_ref, covering.written_at)
            .await
    );
    let group = platform
        .groups(&admin)
        .get_group(GetGroupRequest {
            group_id: support.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(group.administrator_user_ids, [mona]);
}

#[tokio::test]
async fn a_group_with_members_is_not_deleted() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let group = new_group(&platform, &admin, "Temporary").await;
    let user = platform.create_user(&admin, "tim@example.org", "").await;
    platform
        .groups(&admin)
        .add_group_members(AddGroupMembersRequest {
            group_id: group.clone(),
            user_ids: vec![user.clone()],
        })
        .await
        .unwrap();
    let refused = platform
        .groups(&admin)
        .delete_group(DeleteGroupRequest {
            group_id: group.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "NOT_EMPTY");

    platform
        .groups(&admin)
        .remove_group_members(RemoveGroupMembersRequest {
            group_id: group.clone(),
            user_ids: vec![user],
        })
        .await
        .unwrap();
    platform
        .groups(&admin)
        .delete_group(DeleteGroupRequest {
            group_id: group.clone(),
        })
        .await
        .unwrap();
    let gone = platform
        .groups(&admin)
        .get_group(GetGroupRequest {
            group_id: group.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let no_members = platform
        .groups(&admin)
        .list_group_members(ListGroupMembersRequest {
            group_id: group,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        no_members.code(),
        Code::NotFound,
        "a deleted group is not an empty one"
    );
}

#[tokio::test]
async fn membership_with_a_bad_or_unknown_user_is_refused_and_adds_nobody() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let group = new_group(&platform, &admin, "Careful").await;
    let real = platform.create_user(&admin, "real@example.org", "").await;

    let malformed = platform
        .groups(&admin)
        .add_group_members(AddGroupMembersRequest {
            group_id: group.clone(),
            user_ids: vec![real.clone(), "not-a-user".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(fields(&malformed), ["user_ids[1]"]);

    let unknown = platform
        .groups(&admin)
        .add_group_members(AddGroupMembersRequest {
            group_id: group.clone(),
            user_ids: vec![real, "0190a5c4-0000-7000-8000-000000000001".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(members(&platform, &admin, &group).await.is_empty());
}

#[tokio::test]
async fn a_student_may_not_create_groups() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform.create_user(&admin, "stu@example.org", "").await;
    let student = platform
        .sign_in("stu@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let refused = platform
        .groups(&student)
        .create_group(CreateGroupRequest {
            name: "Mine".into(),
            external_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("groups.create"), "{refused:?}");
}

/// A Manager-Tutor who manages `team` (where `member` is their team member) and administers
/// `project`, signed in.
async fn overseer(
    platform: &Platform,
    admin: &str,
    team: &str,
    project: &str,
    member: &str,
) -> (String, String) {
    let id = platform.create_user(admin, "mat@example.org", "").await;
    platform.assign(admin, &id, "manager_tutor", "").await;
    platform
        .groups(admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: team.into(),
            manager_user_id: id.clone(),
        })
        .await
        .unwrap();
    platform
        .groups(admin)
        .set_primary_group(SetPrimaryGroupRequest {
            user_id: member.into(),
            group_id: team.into(),
        })
        .await
        .unwrap();
    platform
        .groups(admin)
        .set_group_administrator(SetGroupAdministratorRequest {
            group_id: project.into(),
            user_id: id.clone(),
            administrator: true,
        })
        .await
        .unwrap();
    let token = platform
        .sign_in("mat@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    (id, token)
}

#[tokio::test]
async fn a_group_overseer_cannot_pull_a_stranger_into_their_group_but_adds_their_team_member() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let team = new_group(&platform, &admin, "Team").await;
    let project = new_group(&platform, &admin, "Project").await;
    let lee = platform.create_user(&admin, "lee@example.org", "").await;
    let (_, overseer) = overseer(&platform, &admin, &team, &project, &lee).await;

    let stranger = platform.admin.to_string();
    let refused = platform
        .groups(&overseer)
        .add_group_members(AddGroupMembersRequest {
            group_id: project.clone(),
            user_ids: vec![lee.clone(), stranger.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains(&stranger), "{refused:?}");
    assert!(!refused.message().contains(&lee), "{refused:?}");
    assert!(
        members(&platform, &admin, &project).await.is_empty(),
        "a refused call adds nobody"
    );
    assert!(
        !platform
            .allowed(
                &overseer,
                "users.read",
                object(ObjectType::User, &stranger),
                None
            )
            .await
    );

    platform
        .groups(&overseer)
        .add_group_members(AddGroupMembersRequest {
            group_id: project.clone(),
            user_ids: vec![lee.clone()],
        })
        .await
        .unwrap();
    assert_eq!(members(&platform, &admin, &project).await, [lee]);
}

#[tokio::test]
async fn naming_a_group_manager_or_administrator_needs_the_right_and_an_eligible_person() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let team = new_group(&platform, &admin, "Team").await;
    let project = new_group(&platform, &admin, "Project").await;
    let lee = platform.create_user(&admin, "lee@example.org", "").await;
    let (overseer_id, overseer) = overseer(&platform, &admin, &team, &project, &lee).await;

    // A Student's roles allow no group responsibility (the matrix): refused before it is saved.
    let student = platform.create_user(&admin, "stu@example.org", "").await;
    let ineligible = platform
        .groups(&admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: project.clone(),
            manager_user_id: student.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (ineligible.code(), reason(&ineligible)),
        (
            Code::FailedPrecondition,
            "RESPONSIBILITY_NOT_ALLOWED".into()
        )
    );
    let ineligible = platform
        .groups(&admin)
        .set_group_administrator(SetGroupAdministratorRequest {
            group_id: project.clone(),
            user_id: student.clone(),
            administrator: true,
        })
        .await
        .unwrap_err();
    assert_eq!(ineligible.code(), Code::FailedPrecondition);
    let saved = platform
        .groups(&admin)
        .get_group(GetGroupRequest {
            group_id: project.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(saved.manager_user_id, "");
    assert_eq!(saved.administrator_user_ids, [overseer_id]);

    // The overseer updates their group but may not hand out its responsibilities.
    let manager = platform.create_user(&admin, "mo@example.org", "").await;
    platform.assign(&admin, &manager, "manager", "").await;
    let no_right = platform
        .groups(&overseer)
        .set_group_manager(SetGroupManagerRequest {
            group_id: project.clone(),
            manager_user_id: manager.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_right.code(), Code::PermissionDenied);
    assert!(
        no_right.message().contains("responsibilities.assign"),
        "{no_right:?}"
    );

    // An administrator names an eligible Manager, and decisions see it with the answer's token.
    let answer = platform
        .groups(&admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: project,
            manager_user_id: manager,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(answer.written_at.is_some());
}

/// An LMS Administrator, and a Training Coordinator (signed in) who can see but not outrank
/// them: their ids and the coordinator's token.
async fn coordinator_below_an_lms_administrator(
    platform: &Platform,
    admin: &str,
) -> (String, String, String) {
    let lms = platform.create_user(admin, "lin@example.org", "").await;
    platform.assign(admin, &lms, "lms_administrator", "").await;
    let coordinator = platform.create_user(admin, "tia@example.org", "").await;
    platform
        .assign(admin, &coordinator, "training_coordinator", "")
        .await;
    let token = platform
        .sign_in("tia@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    (lms, coordinator, token)
}

#[tokio::test]
async fn a_training_coordinator_cannot_move_an_lms_administrator_under_a_line_manager() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let team = new_group(&platform, &admin, "Team").await;
    let (lms, _, token) = coordinator_below_an_lms_administrator(&platform, &admin).await;
    let move_into_team = |user: &str| SetPrimaryGroupRequest {
        user_id: user.into(),
        group_id: team.clone(),
    };

    let refused = platform
        .groups(&token)
        .set_primary_group(move_into_team(&lms))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
    assert!(members(&platform, &admin, &team).await.is_empty());

    let student = platform.create_user(&admin, "stu@example.org", "").await;
    platform
        .groups(&token)
        .set_primary_group(move_into_team(&student))
        .await
        .unwrap();
    assert_eq!(members(&platform, &admin, &team).await, [student]);
}

#[tokio::test]
async fn a_caller_who_sees_a_person_but_does_not_outrank_them_cannot_put_them_in_a_group() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let project = new_group(&platform, &admin, "Project").await;
    let (lms, _, token) = coordinator_below_an_lms_administrator(&platform, &admin).await;
    // The Training Coordinator reads the LMS Administrator and changes the group...
    assert!(
        platform
            .allowed(&token, "users.read", object(ObjectType::User, &lms), None)
            .await
    );
    let student = platform.create_user(&admin, "stu@example.org", "").await;

    // ...but whoever oversees the group would gain rights over its members: refused, and
    // nobody of the call is added.
    let refused = platform
        .groups(&token)
        .add_group_members(AddGroupMembersRequest {
            group_id: project.clone(),
            user_ids: vec![student.clone(), lms.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
    assert!(refused.message().contains(&lms), "{refused:?}");
    assert!(!refused.message().contains(&student), "{refused:?}");
    assert!(members(&platform, &admin, &project).await.is_empty());

    // People below them they add.
    platform
        .groups(&token)
        .add_group_members(AddGroupMembersRequest {
            group_id: project.clone(),
            user_ids: vec![student.clone()],
        })
        .await
        .unwrap();
    assert_eq!(members(&platform, &admin, &project).await, [student]);

    // Nor do they hand a group responsibility to someone above them.
    let refused = platform
        .groups(&token)
        .set_group_administrator(SetGroupAdministratorRequest {
            group_id: project.clone(),
            user_id: lms.clone(),
            administrator: true,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
}

/// Review of issue 13: a new overseer gains rights over every member, so whoever names one must
/// outrank the members too, not only the person named.
#[tokio::test]
async fn naming_a_groups_overseer_needs_outranking_its_members() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let board = new_group(&platform, &admin, "Board").await;
    let (lms, coordinator, token) = coordinator_below_an_lms_administrator(&platform, &admin).await;
    platform
        .groups(&admin)
        .add_group_members(AddGroupMembersRequest {
            group_id: board.clone(),
            user_ids: vec![lms.clone()],
        })
        .await
        .unwrap();
    let student = platform.create_user(&admin, "stu@example.org", "").await;

    for refused in [
        platform
            .groups(&token)
            .set_group_manager(SetGroupManagerRequest {
                group_id: board.clone(),
                manager_user_id: student.clone(),
            })
            .await
            .unwrap_err(),
        platform
            .groups(&token)
            .set_group_administrator(SetGroupAdministratorRequest {
                group_id: board.clone(),
                user_id: coordinator.clone(),
                administrator: true,
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            (refused.code(), reason(&refused)),
            (Code::PermissionDenied, "OUTRANKED".into())
        );
        assert!(refused.message().contains(&lms), "{refused:?}");
    }
}
