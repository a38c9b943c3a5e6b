//! Content grants: a master's course granted to a client tenant is a fact among the client's,
//! written by delegation (course facts) and read with every subject of the client.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::{
    CheckRequest, Decision, Relation, RelationshipUpdate, SubjectStatus, WriteRelationshipsRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, ObjectType, UserStatus};
use lms_kernel::{CourseId, TenantId, UserId};

use crate::fixture::{Fixture, reason, reference, touch, uuid_v4};

/// The master's course as the client's people name it.
fn masters(kind: ObjectType, id: impl ToString, master: TenantId) -> ObjectReference {
    ObjectReference {
        tenant_id: master.to_string(),
        ..reference(kind, id)
    }
}

fn granted_by(course: CourseId, master: TenantId) -> (ObjectReference, ObjectReference) {
    (
        reference(ObjectType::Course, course),
        reference(ObjectType::Tenant, master),
    )
}

/// Writes `updates` in `tenant` as delegation does (its token, course facts).
async fn as_delegation(
    f: &Fixture,
    tenant: TenantId,
    updates: Vec<RelationshipUpdate>,
) -> Result<ConsistencyToken, tonic::Status> {
    let token = f.auth.tenant_service_token("delegation", tenant);
    let written = RelationshipServiceClient::new(f.service.authorized(&token))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid_v4(),
            updates,
            ..Default::default()
        })
        .await?;
    Ok(written.into_inner().written_at.unwrap())
}

/// Announces an active person of `tenant`, as identity does.
async fn person(f: &Fixture, tenant: TenantId) -> UserId {
    let user = UserId::generate();
    let token = f.auth.tenant_service_token("identity", tenant);
    RelationshipServiceClient::new(f.service.authorized(&token))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid_v4(),
            statuses: vec![SubjectStatus {
                user_id: user.to_string(),
                status: UserStatus::Active as i32,
                restrict_bookings: false,
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    user
}

/// May `user` of `tenant` do `permission` on `resource`, at `consistency`?
async fn may(
    f: &Fixture,
    tenant: TenantId,
    user: UserId,
    permission: &str,
    resource: ObjectReference,
    consistency: Requirement,
) -> bool {
    let token = f.auth.user_token(tenant, user);
    let response = PermissionServiceClient::new(f.service.authorized(&token))
        .check(CheckRequest {
            subject_id: String::new(),
            permission: permission.into(),
            resource: Some(resource),
            consistency: Some(Consistency {
                requirement: Some(consistency),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    response.decision() == Decision::Allowed
}

#[tokio::test]
async fn a_granted_course_is_seen_by_the_clients_people_until_the_revoke_token() {
    let f = Fixture::start().await;
    let master = f.tenant;
    let (client, _) = f.master_of_a_client().await;
    let (course, other_course) = (CourseId::generate(), CourseId::generate());
    let learner = person(&f, client).await;
    let fresh = Requirement::FullyConsistent(true);
    let course_ref = masters(ObjectType::Course, course, master);
    assert!(
        !may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            fresh.clone()
        )
        .await
    );

    let (resource, subject) = granted_by(course, master);
    let granted = as_delegation(
        &f,
        client,
        vec![touch(
            resource.clone(),
            Relation::GrantedBy,
            subject.clone(),
        )],
    )
    .await
    .unwrap();
    let at = |token: &ConsistencyToken| Requirement::AtLeastAsFresh(token.clone());
    assert!(
        may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            at(&granted)
        )
        .await
    );
    // Seeing is not taking, changing, or reaching anything else of the master's.
    for (permission, object) in [
        ("learning.take", course_ref.clone()),
        ("courses.update", course_ref.clone()),
        (
            "courses.read",
            masters(ObjectType::Course, other_course, master),
        ),
        (
            "users.read",
            masters(ObjectType::User, UserId::generate(), master),
        ),
    ] {
        assert!(
            !may(&f, client, learner, permission, object, at(&granted)).await,
            "{permission}"
        );
    }
    // Enrolled (the fact among the client's), they learn on it and read its lessons.
    let lesson = uuid::Uuid::now_v7();
    as_delegation(
        &f,
        master,
        vec![touch(
            reference(ObjectType::Lesson, lesson),
            Relation::ParentCourse,
            reference(ObjectType::Course, course),
        )],
    )
    .await
    .unwrap();
    let enrolled = as_delegation(
        &f,
        client,
        vec![touch(
            reference(ObjectType::Course, course),
            Relation::Enrolled,
            reference(ObjectType::User, learner),
        )],
    )
    .await
    .unwrap();
    let lesson_ref = masters(ObjectType::Lesson, lesson, master);
    assert!(
        may(
            &f,
            client,
            learner,
            "learning.take",
            course_ref.clone(),
            at(&enrolled)
        )
        .await
    );
    assert!(
        may(
            &f,
            client,
            learner,
            "lessons.read",
            lesson_ref.clone(),
            at(&enrolled)
        )
        .await
    );

    // Cached from a quick answer, then revoked: the revoke's token denies at once.
    let quick = Requirement::MinimizeLatency(true);
    assert!(
        may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            quick
        )
        .await
    );
    // Delegation revokes by ending the fact's window, so the course stays known as the
    // master's: the enrolment among the client's facts reaches it under no name.
    let mut ended = touch(resource, Relation::GrantedBy, subject);
    ended.relationship.as_mut().unwrap().valid_until = Some(prost_types::Timestamp {
        seconds: lms_runtime::clock::now(),
        nanos: 0,
    });
    let revoked = as_delegation(&f, client, vec![ended]).await.unwrap();
    let as_home = reference(ObjectType::Course, course);
    for (permission, object) in [
        ("courses.read", course_ref.clone()),
        ("learning.take", course_ref.clone()),
        ("lessons.read", lesson_ref),
        ("learning.take", as_home),
    ] {
        assert!(
            !may(&f, client, learner, permission, object, at(&revoked)).await,
            "{permission} after the revoke"
        );
    }
}

#[tokio::test]
async fn only_the_course_facts_owner_writes_a_content_grant() {
    use lms_runtime::auth::{Scope, Scopes};
    let f = Fixture::start().await;
    let (client, _) = f.master_of_a_client().await;
    let (resource, subject) = granted_by(CourseId::generate(), f.tenant);
    let f = &f;
    let write = |scope: Scope| {
        let token = f
            .auth
            .scoped_token("svc", Some(client), Scopes::of([scope]));
        let (resource, subject) = (resource.clone(), subject.clone());
        async move {
            RelationshipServiceClient::new(f.service.authorized(&token))
                .write_relationships(WriteRelationshipsRequest {
                    event_id: uuid_v4(),
                    updates: vec![touch(resource, Relation::GrantedBy, subject)],
                    ..Default::default()
                })
                .await
        }
    };
    let refused = write(Scope::PeopleFacts).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert_eq!(reason(&refused), "SCOPE_REQUIRED");
    write(Scope::CourseFacts)
        .await
        .expect("course facts own content grants");
}

#[tokio::test]
async fn a_grant_reaches_only_while_the_client_link_and_the_masters_clients_last() {
    let f = Fixture::start().await;
    let master = f.tenant;
    let (client, _) = f.master_of_a_client().await;
    let course = CourseId::generate();
    let learner = person(&f, client).await;
    let (resource, subject) = granted_by(course, master);
    as_delegation(
        &f,
        client,
        vec![touch(resource, Relation::GrantedBy, subject)],
    )
    .await
    .unwrap();
    let course_ref = masters(ObjectType::Course, course, master);
    let quick = || Requirement::MinimizeLatency(true);
    let fresh = || Requirement::FullyConsistent(true);
    // Cached from a quick answer first: every change below must reach the cached facts.
    assert!(
        may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            quick()
        )
        .await
    );
    let link = || {
        touch(
            reference(ObjectType::Tenant, master),
            Relation::Client,
            reference(ObjectType::Tenant, client),
        )
    };
    let unlink = {
        let mut change = link();
        change.operation = lms_api::authorization::v1::Operation::Delete as i32;
        change
    };
    // A quick answer may lag a write by the staleness bound (1 s here), never more: the
    // client's revision moved with the master's change, so its cached facts go.
    let denied_within_the_bound = || async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            quick(),
        )
        .await
        {
            assert!(
                std::time::Instant::now() < deadline,
                "still allowed past the bound"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    f.write(vec![unlink], None, Vec::new()).await;
    denied_within_the_bound().await;
    assert!(
        !may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            fresh()
        )
        .await
    );
    f.write(vec![link()], None, Vec::new()).await;
    assert!(
        may(
            &f,
            client,
            learner,
            "courses.read",
            course_ref.clone(),
            fresh()
        )
        .await
    );
    // The master switches clients off: its grants stop with its client reach.
    f.settings(false, false).await;
    denied_within_the_bound().await;
    f.settings(false, true).await;
    assert!(may(&f, client, learner, "courses.read", course_ref, fresh()).await);
}
