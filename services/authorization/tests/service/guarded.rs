//! Bad input, wrong callers, facts applied once, one Course Tutor, and the store going away.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, BatchCheckItem, BatchCheckRequest, CheckRequest, Decision,
    ListUserRolesRequest, Operation, Relation, RelationshipUpdate, RevokeRoleRequest,
    WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_kernel::{CourseId, UserId};
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixture::{Fixture, announce, reference, touch, user_ref, uuid_v4};

fn batch_item(subject: UserId, permission: &str, resource: &ObjectReference) -> BatchCheckItem {
    BatchCheckItem {
        subject_id: subject.to_string(),
        permission: permission.into(),
        resource: Some(resource.clone()),
    }
}

fn field(status: &tonic::Status) -> String {
    status
        .get_details_bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_input_names_the_field_and_unknown_things_are_not_found() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let mut checks = PermissionServiceClient::new(f.service.authorized(&f.user_token(admin)));
    let cases = [
        (
            CheckRequest {
                permission: "users.fly".into(),
                resource: Some(user_ref(admin)),
                ..Default::default()
            },
            "permission",
        ),
        (
            CheckRequest {
                permission: "users.read".into(),
                resource: None,
                ..Default::default()
            },
            "resource",
        ),
        (
            CheckRequest {
                permission: "users.read".into(),
                resource: Some(reference(ObjectType::User, "nope")),
                ..Default::default()
            },
            "resource.id",
        ),
        (
            CheckRequest {
                permission: "users.read".into(),
                resource: Some(reference(ObjectType::Unspecified, admin)),
                ..Default::default()
            },
            "resource.type",
        ),
        (
            CheckRequest {
                subject_id: "x".into(),
                permission: "users.read".into(),
                resource: Some(user_ref(admin)),
                ..Default::default()
            },
            "subject_id",
        ),
    ];
    for (request, expected) in cases {
        let status = checks.check(request).await.unwrap_err();
        assert_eq!(
            (status.code(), field(&status)),
            (Code::InvalidArgument, expected.to_owned())
        );
    }
    let mut assignments =
        RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(admin)));
    let unknown_role = assignments
        .assign_role(AssignRoleRequest {
            user_id: admin.to_string(),
            role_id: uuid_v4(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_role.code(), Code::NotFound);
    let unknown_user = assignments
        .assign_role(AssignRoleRequest {
            user_id: UserId::generate().to_string(),
            role_id: "builtin:tutor".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_user.code(), Code::NotFound);
    let bad_role = assignments
        .assign_role(AssignRoleRequest {
            user_id: admin.to_string(),
            role_id: "builtin:wizard".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field(&bad_role), "role_id");
}

#[tokio::test]
async fn only_services_write_facts_and_each_event_applies_once() {
    let f = Fixture::start().await;
    // A group manager holds a role that allows it (the responsibility matrix).
    let user = f.holder("builtin:manager", None).await;
    let request = WriteRelationshipsRequest {
        event_id: uuid_v4(),
        updates: vec![touch(
            reference(ObjectType::Group, uuid_v4()),
            Relation::Manager,
            user_ref(user),
        )],
        tenant_facts: None,
        statuses: Vec::new(),
    };
    let status = RelationshipServiceClient::new(f.service.authorized(&f.user_token(user)))
        .write_relationships(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status =
        RelationshipServiceClient::new(f.service.authorized(&f.auth.service_token("identity")))
            .write_relationships(request.clone())
            .await
            .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "a service token without a tenant"
    );

    let mut identity = RelationshipServiceClient::new(f.service.authorized(&f.identity_token()));
    let first = identity
        .write_relationships(request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = identity
        .write_relationships(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!first.already_applied && second.already_applied);
    assert_eq!(first.written_at, second.written_at);
}

#[tokio::test]
async fn a_course_keeps_one_tutor_and_the_refused_write_answers_failed_precondition() {
    let f = Fixture::start().await;
    let course = reference(ObjectType::Course, CourseId::generate());
    // Both may tutor (the responsibility matrix); only one does.
    let (first, second) = (
        f.holder("builtin:tutor", None).await,
        f.holder("builtin:tutor", None).await,
    );
    f.write(
        vec![touch(
            course.clone(),
            Relation::CourseTutor,
            user_ref(first),
        )],
        None,
        Vec::new(),
    )
    .await;
    let status = RelationshipServiceClient::new(f.service.authorized(&f.identity_token()))
        .write_relationships(WriteRelationshipsRequest {
            event_id: uuid_v4(),
            updates: vec![touch(course, Relation::CourseTutor, user_ref(second))],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "COURSE_TUTOR_TAKEN"
    );
}

#[tokio::test]
async fn services_check_for_a_named_subject_and_batches_answer_in_order() {
    let f = Fixture::start().await;
    let manager = f.holder("builtin:manager", None).await;
    let student = f.user().await;
    let course = reference(ObjectType::Course, CourseId::generate());
    let delegation = f.auth.tenant_service_token("delegation", f.tenant);
    let mut checks = PermissionServiceClient::new(f.service.authorized(&delegation));
    let missing_subject = checks
        .check(CheckRequest {
            permission: "courses.read".into(),
            resource: Some(course.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field(&missing_subject), "subject_id");
    let item = |subject: UserId, permission: &str| batch_item(subject, permission, &course);
    let nobody = reference(ObjectType::User, UserId::generate());
    let batch = checks
        .batch_check(BatchCheckRequest {
            items: vec![
                item(manager, "courses.read"),
                item(student, "courses.read"),
                item(manager, "courses.fly"),
                batch_item(manager, "users.read", &nobody),
            ],
            consistency: None,
        })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<_> = batch.results.iter().map(|r| r.decision()).collect();
    assert_eq!(
        decisions,
        [
            Decision::Allowed,
            Decision::Denied,
            Decision::Denied,
            Decision::Denied
        ]
    );
    assert!(batch.results[2].error_message.contains("permission"));
    let reasons: Vec<_> = batch
        .results
        .iter()
        .map(|r| r.denial_reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        ["", "NO_GRANT", "", "RESOURCE_UNKNOWN"],
        "each denial says why; a user identity never announced is unknown"
    );
    assert!(batch.checked_at.is_some());
}

#[tokio::test]
async fn a_batch_over_shared_resources_answers_each_item_at_least_as_fresh_as_the_token() {
    let f = Fixture::start().await;
    let tutor = f.holder("builtin:tutor", None).await;
    let student = f.user().await;
    let (tutored, other) = (
        reference(ObjectType::Course, CourseId::generate()),
        reference(ObjectType::Course, CourseId::generate()),
    );
    let delegation = f.auth.tenant_service_token("delegation", f.tenant);
    let mut checks = PermissionServiceClient::new(f.service.authorized(&delegation));
    let item = |subject: UserId, resource: &ObjectReference| {
        batch_item(subject, "courses.update", resource)
    };
    let broken = reference(ObjectType::Course, "not-a-uuid");
    let items = vec![
        item(tutor, &tutored),
        item(tutor, &other),
        item(student, &tutored),
        item(tutor, &tutored),
        item(tutor, &broken),
    ];
    let batch = |consistency| BatchCheckRequest {
        items: items.clone(),
        consistency,
    };
    // Read once before the tutor is named, so stale facts sit in the cache.
    let before = checks.batch_check(batch(None)).await.unwrap().into_inner();
    assert!(
        before.results[..4]
            .iter()
            .all(|r| r.decision() == Decision::Denied)
    );
    let written = f
        .write(
            vec![touch(
                tutored.clone(),
                Relation::CourseTutor,
                user_ref(tutor),
            )],
            None,
            Vec::new(),
        )
        .await;
    let after = checks
        .batch_check(batch(Some(lms_api::common::v1::Consistency {
            requirement: Some(
                lms_api::common::v1::consistency::Requirement::AtLeastAsFresh(written),
            ),
        })))
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<_> = after.results.iter().map(|r| r.decision()).collect();
    assert_eq!(
        decisions,
        [
            Decision::Allowed,
            Decision::Denied,
            Decision::Denied,
            Decision::Allowed,
            Decision::Denied
        ]
    );
    assert!(
        after.results[4].error_message.contains("items[4].resource"),
        "{}",
        after.results[4].error_message
    );
}

#[tokio::test]
async fn a_token_of_the_callers_tenant_is_never_ahead_of_a_client_tenants_resource() {
    use lms_api::common::v1::Consistency;
    use lms_api::common::v1::consistency::Requirement;

    let f = Fixture::start().await;
    let (client, master) = f.master_of_a_client().await;
    // The master tenant has written many times, the client once: the two revisions differ,
    // and the token names the master tenant's.
    let token = f.settings(false, true).await;
    let client_user = UserId::generate();
    announce(&f.service, &f.auth, client, client_user).await;
    let mut resource = user_ref(client_user);
    resource.tenant_id = client.to_string();
    let consistency = Some(Consistency {
        requirement: Some(Requirement::AtLeastAsFresh(token.clone())),
    });
    let mut checks = PermissionServiceClient::new(f.service.authorized(&f.user_token(master)));
    let checked = checks
        .check(CheckRequest {
            subject_id: String::new(),
            permission: "users.update".into(),
            resource: Some(resource.clone()),
            consistency: consistency.clone(),
        })
        .await
        .expect("the token is of the caller's tenant, not ahead of it")
        .into_inner();
    assert_eq!(checked.decision(), Decision::Allowed);
    let revision = |token: &str| -> i64 {
        let (revision, tenant) = token[1..].split_once('.').unwrap();
        assert_eq!(
            uuid::Uuid::try_parse(tenant).unwrap(),
            f.tenant.as_uuid(),
            "tokens name the caller's tenant"
        );
        revision.parse().unwrap()
    };
    assert!(revision(&checked.checked_at.unwrap().token) >= revision(&token.token));
    let batch = checks
        .batch_check(BatchCheckRequest {
            items: vec![
                BatchCheckItem {
                    subject_id: String::new(),
                    permission: "users.update".into(),
                    resource: Some(resource),
                },
                batch_item(master, "users.update", &user_ref(master)),
            ],
            consistency,
        })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<_> = batch.results.iter().map(|r| r.decision()).collect();
    assert_eq!(
        decisions,
        [Decision::Allowed, Decision::Allowed],
        "{:?}",
        batch.results
    );
}

/// A TCP proxy in front of PostgreSQL that the test can cut, to take the store away for real.
async fn proxy_to(target: &str) -> (String, tokio_util_shim::Cut) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = target.to_owned();
    let (cut, mut cut_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut connections = Vec::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (mut inbound, _) = accepted.unwrap();
                    let target = target.clone();
                    connections.push(tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
                }
                _ = cut_rx.changed() => {
                    for connection in &connections { connection.abort(); }
                    return;
                }
            }
        }
    });
    (addr.to_string(), tokio_util_shim::Cut(cut))
}

mod tokio_util_shim {
    /// Cuts the proxy: open connections drop, new ones are refused.
    pub struct Cut(pub tokio::sync::watch::Sender<bool>);
    impl Cut {
        pub fn cut(&self) {
            let _ = self.0.send(true);
        }
    }
}

#[tokio::test]
async fn with_the_store_unreachable_decisions_answer_unavailable_and_never_allow() {
    let auth = lms_testkit::TestAuth::new();
    let database = lms_testkit::postgres_database().await;
    let mut url = url_of(database.url());
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let (proxy, cut) = proxy_to(&target).await;
    let (host, port) = proxy.split_once(':').unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_port(Some(port.parse().unwrap())).unwrap();
    let mut context = lms_testkit::service_context(
        lms_runtime::ServiceName::Authorization,
        url.as_str(),
        None,
        &auth,
    );
    context.cache.max_staleness_ms = 300;
    let service =
        lms_testkit::TestService::start(lms_authorization::build(context).await.unwrap()).await;
    let tenant = lms_kernel::TenantId::generate();
    let admin = UserId::generate();
    // Announced as identity does: a subject with no status fact is allowed nothing.
    announce(&service, &auth, tenant, admin).await;
    let mut checks =
        PermissionServiceClient::new(service.authorized(&auth.user_token(tenant, admin)));
    let request = CheckRequest {
        permission: "reports.read".into(),
        resource: Some(user_ref(admin)),
        ..Default::default()
    };
    let allowed = checks.check(request.clone()).await.unwrap().into_inner();
    assert_eq!(allowed.decision(), Decision::Allowed);

    cut.cut();
    // What needs the store fails closed: a fully consistent check, and an uncached subject.
    let mut fully = request.clone();
    fully.consistency = Some(lms_api::common::v1::Consistency {
        requirement: Some(lms_api::common::v1::consistency::Requirement::FullyConsistent(true)),
    });
    assert_eq!(
        checks.check(fully).await.unwrap_err().code(),
        Code::Unavailable
    );
    let stranger = auth.user_token(tenant, UserId::generate());
    let status = PermissionServiceClient::new(service.authorized(&stranger))
        .check(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    // Past the staleness bound nothing cached is used either.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let status = checks.check(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

fn url_of(text: &str) -> url::Url {
    url::Url::parse(text).unwrap()
}

#[tokio::test]
async fn a_responsibility_fact_needs_a_role_that_allows_it_and_the_refusal_names_it() {
    let f = Fixture::start().await;
    let student = f.user().await;
    let manager = f.holder("builtin:manager", None).await;
    let group = reference(ObjectType::Group, uuid_v4());
    let course = reference(ObjectType::Course, CourseId::generate());
    let mut identity = RelationshipServiceClient::new(f.service.authorized(&f.identity_token()));
    for (resource, relation, holder, named) in [
        (group.clone(), Relation::Manager, student, "group_manager"),
        (
            group.clone(),
            Relation::Administrator,
            student,
            "group_administrator",
        ),
        (
            course.clone(),
            Relation::CourseTutor,
            manager,
            "course_tutor",
        ),
    ] {
        let status = identity
            .write_relationships(WriteRelationshipsRequest {
                event_id: uuid_v4(),
                updates: vec![touch(resource, relation, user_ref(holder))],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "RESPONSIBILITY_NOT_ALLOWED"
        );
        assert!(status.message().contains(named), "{}", status.message());
    }
    // Removing a responsibility is never refused, and a role that allows it lets it through;
    // once applied, the same event delivered again is answered, not refused, even after the
    // holder lost the role that allowed it.
    let tutor = f.holder("builtin:tutor", None).await;
    let given = WriteRelationshipsRequest {
        event_id: uuid_v4(),
        updates: vec![touch(course, Relation::CourseTutor, user_ref(tutor))],
        ..Default::default()
    };
    identity.write_relationships(given.clone()).await.unwrap();
    let roles = RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()))
        .list_user_roles(ListUserRolesRequest {
            user_id: tutor.to_string(),
            include_inactive: true,
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    for held in roles {
        RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()))
            .revoke_role(RevokeRoleRequest {
                assignment_id: held.assignment_id,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let replay = identity
        .write_relationships(given)
        .await
        .unwrap()
        .into_inner();
    assert!(replay.already_applied);
    f.write(
        vec![
            touch(group.clone(), Relation::Manager, user_ref(manager)),
            RelationshipUpdate {
                operation: Operation::Delete as i32,
                ..touch(group, Relation::Manager, user_ref(student))
            },
        ],
        None,
        Vec::new(),
    )
    .await;
}

/// Security review M11: a person's batch naming others is decided once per named person, before
/// anything else is read, and a batch naming more people than the cap is refused whole.
#[tokio::test]
async fn a_persons_batch_about_others_is_bounded_and_decided_once_per_person() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let student = f.user().await;
    let course = reference(ObjectType::Course, CourseId::generate());

    // A student may not ask about others: every such item is denied with the reason; their
    // own items still answer.
    let mut as_student = PermissionServiceClient::new(f.service.authorized(&f.user_token(student)));
    let other = f.user().await;
    let mut items = vec![batch_item(student, "courses.read", &course)];
    items.extend((0..20).map(|_| batch_item(other, "courses.read", &course)));
    let batch = as_student
        .batch_check(BatchCheckRequest {
            items,
            consistency: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.results[0].decision(), Decision::Denied);
    assert!(
        batch.results[0].error_message.is_empty(),
        "decided, not refused"
    );
    for result in &batch.results[1..] {
        assert_eq!(result.decision(), Decision::Denied);
        assert!(
            result.error_message.contains("role_assignments.read"),
            "{}",
            result.error_message
        );
    }

    // An administrator may ask about others, up to a hundred per batch.
    let mut as_admin = PermissionServiceClient::new(f.service.authorized(&f.user_token(admin)));
    let mut people = Vec::new();
    for _ in 0..101 {
        people.push(UserId::generate());
    }
    let items = |people: &[UserId]| {
        people
            .iter()
            .map(|p| batch_item(*p, "courses.read", &course))
            .collect::<Vec<_>>()
    };
    let too_many = as_admin
        .batch_check(BatchCheckRequest {
            items: items(&people),
            consistency: None,
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);
    assert_eq!(field(&too_many), "items");
    let known = [student, other];
    let batch = as_admin
        .batch_check(BatchCheckRequest {
            items: items(&known),
            consistency: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.results.len(), 2);
    assert!(batch.results.iter().all(|r| r.error_message.is_empty()));
}

/// Security review H8: whatever someone plants in Redis (an administrator's cached facts copied
/// under a student's key, or facts without the replicas' MAC) is not used to decide.
#[tokio::test]
async fn facts_planted_in_redis_are_not_used() {
    use redis::AsyncCommands;

    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let victim = user_ref(f.user().await);
    let ask = |user: UserId| {
        let mut checks = PermissionServiceClient::new(f.service.authorized(&f.user_token(user)));
        let victim = victim.clone();
        async move {
            checks
                .check(CheckRequest {
                    permission: "users.update".into(),
                    resource: Some(victim),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .decision()
        }
    };
    // The administrator's facts are now cached in Redis.
    assert_eq!(ask(admin).await, Decision::Allowed);
    let key = |user: UserId| {
        format!(
            "{}authz:s:{}:{}",
            f.redis().prefix(),
            f.tenant.as_uuid().simple(),
            user.as_uuid().simple()
        )
    };
    let mut redis = redis::Client::open(f.redis().url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let sealed: String = redis.get(key(admin)).await.unwrap();
    let (_, json) = sealed.split_once('.').unwrap();
    // Two students the replica has never decided for, so it looks in Redis.
    let (moved, unsealed) = (f.user().await, f.user().await);
    let _: () = redis.set(key(moved), &sealed).await.unwrap();
    let _: () = redis.set(key(unsealed), json).await.unwrap();
    assert_eq!(
        ask(moved).await,
        Decision::Denied,
        "an entry moved to another key"
    );
    assert_eq!(
        ask(unsealed).await,
        Decision::Denied,
        "an entry without a MAC"
    );

    // Replayed: once the administrator's role is taken back, their old sealed entry written back
    // into Redis (with no expiry) is past the staleness bound and not used.
    let (assignment, _) = f.grant(moved, "builtin:lms_administrator", None).await;
    assert_eq!(ask(moved).await, Decision::Allowed);
    let old_entry: String = redis.get(key(moved)).await.unwrap();
    RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()))
        .revoke_role(RevokeRoleRequest {
            assignment_id: assignment,
            ..Default::default()
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let _: () = redis.set(key(moved), &old_entry).await.unwrap();
    assert_eq!(
        ask(moved).await,
        Decision::Denied,
        "an old sealed entry replayed"
    );
}
