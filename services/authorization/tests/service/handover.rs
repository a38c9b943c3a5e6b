//! The Access Coordinator hand-over: identity passes the hand-over's `written_at` to the
//! approval decisions that follow it, and a decision asked at least that fresh never uses
//! cached facts from before it, however warm the cache (review finding 17).

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{
    BatchCheckItem, BatchCheckRequest, CheckRequest, Decision, ExplainRequest, Relation,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectType};
use lms_kernel::UserId;

use crate::fixture::{Fixture, delete, reference, touch, user_ref};

const DUTY: &str = "tutor_approvals.decide";

fn at_least(token: &ConsistencyToken) -> Option<Consistency> {
    Some(Consistency {
        requirement: Some(Requirement::AtLeastAsFresh(token.clone())),
    })
}

/// Explain as `user` (as identity's approval RPCs ask), at least as fresh as `token` when given.
async fn explained(
    f: &Fixture,
    user: UserId,
    pending: UserId,
    token: Option<&ConsistencyToken>,
) -> Decision {
    PermissionServiceClient::new(f.service.authorized(&f.user_token(user)))
        .explain(ExplainRequest {
            permission: DUTY.into(),
            resource: Some(user_ref(pending)),
            consistency: token.and_then(at_least),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .decision()
}

/// Check as `user` without a token: answered from the cache when it holds the facts.
async fn warm(f: &Fixture, user: UserId, pending: UserId) {
    PermissionServiceClient::new(f.service.authorized(&f.user_token(user)))
        .check(CheckRequest {
            permission: DUTY.into(),
            resource: Some(user_ref(pending)),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn after_a_hand_over_its_token_allows_the_new_coordinator_and_not_the_old() {
    let f = Fixture::start().await;
    let (old, new, pending) = (f.user().await, f.user().await, f.user().await);
    let tenant = || reference(ObjectType::Tenant, f.tenant);
    let first = f
        .write(
            vec![touch(tenant(), Relation::AccessCoordinator, user_ref(old))],
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(
        explained(&f, old, pending, Some(&first)).await,
        Decision::Allowed
    );
    assert_eq!(
        explained(&f, new, pending, Some(&first)).await,
        Decision::Denied
    );
    // Both tiers hold both people's facts from before the hand-over.
    for user in [old, new, pending] {
        warm(&f, user, pending).await;
    }

    let handed_over = f
        .write(
            vec![
                delete(tenant(), Relation::AccessCoordinator, user_ref(old)),
                touch(tenant(), Relation::AccessCoordinator, user_ref(new)),
            ],
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(
        explained(&f, new, pending, Some(&handed_over)).await,
        Decision::Allowed,
        "the new coordinator acts at once with the hand-over's token"
    );
    assert_eq!(
        explained(&f, old, pending, Some(&handed_over)).await,
        Decision::Denied,
        "the old coordinator is refused at once with the hand-over's token"
    );
    // A service's batch at the token decides both the same way.
    let identity = f.identity_token();
    let items = [new, old]
        .map(|user| BatchCheckItem {
            subject_id: user.to_string(),
            permission: DUTY.into(),
            resource: Some(user_ref(pending)),
        })
        .to_vec();
    let batch = PermissionServiceClient::new(f.service.authorized(&identity))
        .batch_check(BatchCheckRequest {
            items,
            consistency: at_least(&handed_over),
        })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<Decision> = batch.results.iter().map(|r| r.decision()).collect();
    assert_eq!(decisions, [Decision::Allowed, Decision::Denied]);
}
