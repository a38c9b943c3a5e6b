use lms_kernel::{CourseId, TenantId};
use lms_runtime::audit::{AuditEntry, AuditFilter};

use super::{course, someone};
use crate::audit::Actor;
use crate::store::{CourseChange, Store};

/// A new course stored in `tenant` by `actor`, audited as the service audits it: its id.
async fn created<S: Store>(store: &S, tenant: TenantId, actor: &Actor) -> CourseId {
    let c = course("Audited");
    store
        .create_course(
            tenant,
            &c,
            &[],
            &actor.did("course.created", "course", c.id),
        )
        .await
        .unwrap();
    c.id
}

async fn renamed<S: Store>(store: &S, tenant: TenantId, actor: &Actor, id: CourseId) {
    let change = CourseChange {
        title: Some("Renamed".into()),
        ..Default::default()
    };
    store
        .update_course(
            tenant,
            id,
            &change,
            2,
            &actor.did("course.updated", "course", id),
        )
        .await
        .unwrap()
        .expect("the course exists");
}

async fn read<S: Store>(
    store: &S,
    tenant: TenantId,
    filter: &AuditFilter,
    limit: i64,
) -> Vec<AuditEntry> {
    store.audit_records(tenant, filter, limit).await.unwrap()
}

fn about(id: CourseId) -> AuditFilter {
    AuditFilter {
        object: Some(("course".into(), id.to_string())),
        ..Default::default()
    }
}

fn objects(entries: &[AuditEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| (e.action.clone(), e.object_id.clone()))
        .collect()
}

pub async fn the_trail_reads_newest_first_and_pages_below_a_token<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let actor = Actor::Service("conformance".into());
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(created(&store, tenant, &actor).await);
    }
    let first = read(&store, tenant, &AuditFilter::default(), 2).await;
    assert_eq!(
        objects(&first),
        [
            ("course.created".into(), made[2].to_string()),
            ("course.created".into(), made[1].to_string()),
        ],
        "the newest two, newest first"
    );
    assert!(first[0].sequence > first[1].sequence);
    let below = AuditFilter {
        before: Some(first[1].sequence),
        ..Default::default()
    };
    let rest = read(&store, tenant, &below, 2).await;
    assert_eq!(
        objects(&rest),
        [("course.created".into(), made[0].to_string())],
        "the page below holds only what the first did not"
    );
    // What a record keeps: who acted, and the object's state after creation.
    let oldest = &rest[0];
    assert_eq!(oldest.actor_service.as_deref(), Some("conformance"));
    assert_eq!(
        (oldest.actor_user, oldest.actor_session.as_deref()),
        (None, None)
    );
    assert_eq!(oldest.before_json, None);
    let after: serde_json::Value =
        serde_json::from_str(oldest.after_json.as_deref().expect("a state after")).unwrap();
    assert_eq!(after["course_id"], made[0].to_string());
}

pub async fn the_trail_filters_by_object_person_and_action<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let person = someone();
    let by_person = Actor::Person {
        user: person,
        session: Some("session-1".into()),
    };
    let by_service = Actor::Service("conformance".into());
    let mine = created(&store, tenant, &by_person).await;
    let other = created(&store, tenant, &by_service).await;
    renamed(&store, tenant, &by_service, mine).await;

    let on_mine = read(&store, tenant, &about(mine), 10).await;
    assert_eq!(
        objects(&on_mine),
        [
            ("course.updated".into(), mine.to_string()),
            ("course.created".into(), mine.to_string()),
        ]
    );
    assert!(
        on_mine[0].before_json.is_some() && on_mine[0].after_json.is_some(),
        "an update keeps both states"
    );
    let theirs = AuditFilter {
        actor: Some(person),
        ..Default::default()
    };
    let by_them = read(&store, tenant, &theirs, 10).await;
    assert_eq!(
        objects(&by_them),
        [("course.created".into(), mine.to_string())]
    );
    assert_eq!(by_them[0].actor_user, Some(person));
    assert_eq!(by_them[0].actor_session.as_deref(), Some("session-1"));
    assert_eq!(by_them[0].actor_service, None);
    let creations = AuditFilter {
        action: Some("course.created".into()),
        ..Default::default()
    };
    assert_eq!(
        objects(&read(&store, tenant, &creations, 10).await),
        [
            ("course.created".into(), other.to_string()),
            ("course.created".into(), mine.to_string()),
        ]
    );
    let nothing = AuditFilter {
        object: Some(("lesson".into(), mine.to_string())),
        ..Default::default()
    };
    assert!(
        read(&store, tenant, &nothing, 10).await.is_empty(),
        "an object is its type and its id"
    );
}

pub async fn a_tenant_reads_only_its_own_trail<S: Store>(store: S) {
    let (mine, theirs) = (TenantId::generate(), TenantId::generate());
    let actor = Actor::Service("conformance".into());
    let my_course = created(&store, mine, &actor).await;
    let their_course = created(&store, theirs, &actor).await;
    assert_eq!(
        objects(&read(&store, mine, &AuditFilter::default(), 10).await),
        [("course.created".into(), my_course.to_string())]
    );
    assert!(
        read(&store, mine, &about(their_course), 10)
            .await
            .is_empty(),
        "naming another tenant's object finds nothing"
    );
    assert!(
        read(&store, TenantId::generate(), &AuditFilter::default(), 10)
            .await
            .is_empty()
    );
}
