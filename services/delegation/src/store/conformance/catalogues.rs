use lms_kernel::{CatalogueId, CourseId, Removal, TenantId, UserId};

use super::{audit, course, someone, stored};
use crate::store::{Audience, CatalogueFilter, CatalogueRecord, Offers, Store, StoreError};

fn catalogue(name: &str, courses: &[CourseId]) -> CatalogueRecord {
    CatalogueRecord {
        id: CatalogueId::generate(),
        name: name.into(),
        courses: courses.to_vec(),
        learner_count: 0,
        created_by: "test".into(),
        created_at: 1,
    }
}

async fn created<S: Store>(store: &S, tenant: TenantId, record: &CatalogueRecord) {
    store
        .create_catalogue(tenant, record, &audit("catalogue.created"))
        .await
        .unwrap();
}

async fn deploy<S: Store>(
    store: &S,
    tenant: TenantId,
    catalogue: CatalogueId,
    users: &[UserId],
) -> (usize, Offers) {
    let audience = Audience {
        catalogue,
        users,
        by: "test",
        at: 2,
    };
    let changed = store
        .deploy_catalogue(
            tenant,
            audience,
            |_| Vec::new(),
            &audit("catalogue.deployed"),
        )
        .await
        .unwrap();
    (changed.count, changed.offers)
}

async fn a_course<S: Store>(store: &S, tenant: TenantId, title: &str) -> CourseId {
    let c = course(title);
    stored(store, tenant, &c).await;
    c.id
}

fn sorted(mut pairs: Vec<(CourseId, UserId)>) -> Vec<(CourseId, UserId)> {
    pairs.sort();
    pairs
}

pub async fn deploying_offers_each_course_to_each_new_learner_once<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let (c1, c2) = (
        a_course(&store, tenant, "C1").await,
        a_course(&store, tenant, "C2").await,
    );
    let k = catalogue("Science", &[c1]);
    created(&store, tenant, &k).await;
    let (ann, bob) = (someone(), someone());
    let (count, offers) = deploy(&store, tenant, k.id, &[ann, bob]).await;
    assert_eq!(count, 2);
    assert_eq!(sorted(offers.begun), sorted(vec![(c1, ann), (c1, bob)]));
    assert!(offers.ended.is_empty());
    let (count, offers) = deploy(&store, tenant, k.id, &[ann]).await;
    assert_eq!((count, offers), (0, Offers::default()), "deploying again");

    let added = store
        .add_catalogue_courses(tenant, &[k.id], &[c2, c1], 3, |_| Vec::new(), &audit("a"))
        .await
        .unwrap();
    assert_eq!(added.count, 1, "only the course it did not hold");
    assert_eq!(
        sorted(added.offers.begun),
        sorted(vec![(c2, ann), (c2, bob)])
    );
    let stored = store.catalogue(tenant, k.id).await.unwrap().unwrap();
    assert_eq!(stored.courses, vec![c1, c2]);
    assert_eq!(stored.learner_count, 2);
    assert!(store.deployed_to(tenant, k.id, ann).await.unwrap());
    assert!(!store.deployed_to(tenant, k.id, someone()).await.unwrap());
    assert_eq!(
        store.catalogue(TenantId::generate(), k.id).await.unwrap(),
        None
    );
}

pub async fn an_offer_ends_only_when_no_catalogue_holds_it_any_more<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = a_course(&store, tenant, "Shared").await;
    let (k1, k2) = (catalogue("One", &[c]), catalogue("Two", &[c]));
    created(&store, tenant, &k1).await;
    created(&store, tenant, &k2).await;
    let (ann, bob) = (someone(), someone());
    deploy(&store, tenant, k1.id, &[ann, bob]).await;
    deploy(&store, tenant, k2.id, &[ann]).await;

    let removed = store
        .remove_catalogue_course(tenant, k1.id, c, |_| Vec::new(), &audit("r"))
        .await
        .unwrap();
    assert_eq!(
        removed.offers.ended,
        vec![(c, bob)],
        "ann still has it through Two"
    );
    let again = store
        .remove_catalogue_course(tenant, k1.id, c, |_| Vec::new(), &audit("r"))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Missing { .. }), "{again:?}");

    let audience = Audience {
        catalogue: k2.id,
        users: &[ann, bob],
        by: "test",
        at: 3,
    };
    let withdrawn = store
        .withdraw_catalogue(tenant, audience, |_| Vec::new(), &audit("w"))
        .await
        .unwrap();
    assert_eq!(withdrawn.count, 1, "bob never had Two");
    assert_eq!(withdrawn.offers.ended, vec![(c, ann)]);

    deploy(&store, tenant, k2.id, &[bob]).await;
    let deleted = store
        .delete_catalogue(tenant, k2.id, |_| Vec::new(), &audit("d"))
        .await
        .unwrap();
    assert_eq!(deleted.offers.ended, vec![(c, bob)]);
    assert_eq!(store.catalogue(tenant, k2.id).await.unwrap(), None);
    let gone = store
        .delete_catalogue(tenant, k2.id, |_| Vec::new(), &audit("d"))
        .await
        .unwrap_err();
    assert!(matches!(
        gone,
        StoreError::Missing {
            what: "catalogue",
            ..
        }
    ));
}

pub async fn a_learner_lists_only_the_catalogues_deployed_to_them<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let mut all: Vec<_> = (0..3).map(|i| catalogue(&format!("K{i}"), &[])).collect();
    for k in &all {
        created(&store, tenant, k).await;
    }
    all.sort_by_key(|k| k.id);
    let ann = someone();
    deploy(&store, tenant, all[2].id, &[ann]).await;
    deploy(&store, tenant, all[0].id, &[ann]).await;
    let theirs = CatalogueFilter {
        learner: Some(ann),
        after: None,
    };
    let listed: Vec<_> = store
        .catalogues(tenant, theirs, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, vec![all[0].id, all[2].id]);
    let page = CatalogueFilter {
        learner: None,
        after: Some(all[0].id.as_uuid()),
    };
    let rest: Vec<_> = store
        .catalogues(tenant, page, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(rest, vec![all[1].id, all[2].id]);
    let elsewhere = store
        .catalogues(TenantId::generate(), CatalogueFilter::default(), 10)
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
}

pub async fn a_missing_course_leaves_no_catalogue_and_an_erased_course_ends_its_offers<S: Store>(
    store: S,
) {
    let tenant = TenantId::generate();
    let c = a_course(&store, tenant, "Brief").await;
    let broken = catalogue("Broken", &[c, CourseId::generate()]);
    let refused = store
        .create_catalogue(tenant, &broken, &audit("catalogue.created"))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        StoreError::Missing { what: "course", .. }
    ));
    assert_eq!(store.catalogue(tenant, broken.id).await.unwrap(), None);

    let k = catalogue("Kept", &[c]);
    created(&store, tenant, &k).await;
    let ann = someone();
    deploy(&store, tenant, k.id, &[ann]).await;
    let removed = store
        .remove_course(tenant, c, 3, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.removal, Removal::Erase);
    assert_eq!(removed.offered_to, vec![ann]);
    let after = store.catalogue(tenant, k.id).await.unwrap().unwrap();
    assert!(
        after.courses.is_empty(),
        "the erased course left the catalogue"
    );
}
