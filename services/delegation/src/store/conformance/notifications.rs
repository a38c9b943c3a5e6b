use lms_kernel::{CompetencyCheckId, TenantId, UserId};

use super::{audit, course, someone, stored};
use crate::notices::{About, NoticeKind};
use crate::store::{CompetencyRecord, NotificationFilter, NotificationRecord, Store, ToEnrol};

async fn pending<S: Store>(
    store: &S,
    tenant: TenantId,
    recipient: UserId,
) -> Vec<NotificationRecord> {
    store
        .notifications(
            tenant,
            NotificationFilter {
                recipient: Some(recipient),
                ..Default::default()
            },
            100,
        )
        .await
        .unwrap()
}

pub async fn a_notice_reaches_the_named_managers_once_through_the_queue<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let (learner, named, tutor) = (someone(), someone(), someone());
    // A sign-off tells the learner and queues the notice for their named managers.
    let c = course("Signed");
    stored(&store, tenant, &c).await;
    store
        .enrol(
            tenant,
            ToEnrol {
                course: c.id,
                users: &[learner],
                by: "test",
                at: 1,
            },
            |_| Vec::new(),
            &audit("enrolled"),
        )
        .await
        .unwrap();
    let check = CompetencyRecord {
        id: CompetencyCheckId::generate(),
        course: c.id,
        user: learner,
        note: String::new(),
        signed_off_by: "test".into(),
        signed_off_at: 500,
    };
    store
        .sign_off(tenant, &check, |_| Vec::new(), &audit("signed_off"))
        .await
        .unwrap();
    let about = About {
        learner,
        course: c.id,
        event: None,
        object: check.id.as_uuid(),
        at: 500,
    };
    let queue = store.fan_out_queue(100, 500).await.unwrap();
    let ours: Vec<_> = queue.iter().filter(|q| q.tenant == tenant).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(
        (ours[0].kind, ours[0].about),
        (NoticeKind::CompetencySignedOff, about)
    );

    // Put back for later, it is not due until then, one attempt more.
    store.postpone(&[(*ours[0], 600)]).await.unwrap();
    let due = |now| {
        let store = &store;
        async move {
            store
                .fan_out_queue(100, now)
                .await
                .unwrap()
                .into_iter()
                .filter(|q| q.tenant == tenant)
                .collect::<Vec<_>>()
        }
    };
    assert!(due(599).await.is_empty());
    let again = due(600).await;
    assert_eq!(again[0].attempts, 1);

    // The learner is never told twice, nor anyone named twice over them.
    let taken = [(again[0], vec![named, learner, tutor, named])];
    assert_eq!(store.fan_out(&taken).await.unwrap(), 2);
    assert_eq!(
        store.fan_out(&taken).await.unwrap(),
        0,
        "taken once, also by a second replica"
    );
    assert_eq!(pending(&store, tenant, learner).await.len(), 1);
    let told = pending(&store, tenant, named).await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].kind, told[0].learner, told[0].object),
        (NoticeKind::CompetencySignedOff, learner, about.object)
    );
    assert_eq!(pending(&store, tenant, tutor).await.len(), 1);
    assert!(due(i64::MAX).await.is_empty());
}
