//! `lms dev` seeds a demo world through the public API: its people sign in with the shared
//! password and hold what the banner says, its courses have their tutors, learners and a
//! waiting request, `demo.env` names its ids, and seeding again creates nothing.

use std::net::SocketAddr;
use std::path::Path;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{CheckRequest, Decision};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    Course, EnrolmentRequestStatus, ListCoursesRequest, ListEnrolmentRequestsRequest,
    ListEnrolmentsRequest,
};
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    CreateTenantRequest, GetTenantRequest, ListPlatformAuditRecordsRequest, ListUsersRequest,
    NewUser, SignInRequest, TenantSettings, User, sign_in_response,
};
use lms_platform::dev::{
    DEMO_ADMIN_PASSWORD, DEMO_ENV_FILE, DEMO_ENV_KEYS, DEMO_TENANT_FILE, DemoIds, Seeder,
};
use lms_runtime::client::{CallCredentials, connect};
use lms_runtime::{Config, ServiceName};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The services the demo world is explored through.
struct Explorer {
    identity: Channel,
    authorization: Channel,
    /// Delegation's endpoint.
    delegation: String,
}

impl Explorer {
    /// A token of `email` in `tenant`, signed in with the shared demo password.
    async fn sign_in(&self, tenant: &str, email: &str) -> String {
        let outcome = AuthenticationServiceClient::new(self.identity.clone())
            .sign_in(SignInRequest {
                tenant_id: tenant.into(),
                email: email.into(),
                password: DEMO_ADMIN_PASSWORD.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("{email} cannot sign in: {status}"))
            .into_inner()
            .outcome;
        match outcome {
            Some(sign_in_response::Outcome::Tokens(tokens)) => tokens.access_token,
            other => panic!("{email}: expected tokens, got {other:?}"),
        }
    }

    /// May `token`'s holder do `permission` on `resource`, decided from the store?
    async fn may(&self, token: &str, permission: &str, resource: ObjectReference) -> bool {
        let answer = PermissionServiceClient::new(InterceptedService::new(
            self.authorization.clone(),
            CallCredentials::bearer(token).unwrap(),
        ))
        .check(CheckRequest {
            permission: permission.into(),
            resource: Some(resource),
            consistency: Some(Consistency {
                requirement: Some(Requirement::FullyConsistent(true)),
            }),
            subject_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("check {permission}: {status}"))
        .into_inner();
        answer.decision() == Decision::Allowed
    }

    /// The users `token`'s holder sees in their tenant.
    async fn users(&self, token: &str) -> Vec<User> {
        UserServiceClient::new(InterceptedService::new(
            self.identity.clone(),
            CallCredentials::bearer(token).unwrap(),
        ))
        .list_users(ListUsersRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users
    }
}

impl Explorer {
    async fn delegation(&self, token: &str) -> lms_client::Client {
        lms_client::Client::connect(&self.delegation, token)
            .await
            .unwrap()
    }

    /// The courses `token`'s holder sees, archived ones too.
    async fn courses(&self, token: &str) -> Vec<Course> {
        self.delegation(token)
            .await
            .courses()
            .list_courses(ListCoursesRequest {
                page_size: 1000,
                include_archived: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .courses
    }

    /// The learners enrolled on `course`, as `token`'s holder lists them.
    async fn enrolled(&self, token: &str, course: &str) -> Vec<String> {
        let mut learners: Vec<String> = self
            .delegation(token)
            .await
            .enrolments()
            .list_enrolments(ListEnrolmentsRequest {
                course_id: course.into(),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .enrolments
            .into_iter()
            .map(|e| e.user_id)
            .collect();
        learners.sort();
        learners
    }

    /// Who waits for approval on `course`.
    async fn waiting(&self, token: &str, course: &str) -> Vec<String> {
        self.delegation(token)
            .await
            .enrolments()
            .list_enrolment_requests(ListEnrolmentRequestsRequest {
                course_id: course.into(),
                status: EnrolmentRequestStatus::Requested as i32,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .requests
            .into_iter()
            .map(|r| r.user_id)
            .collect()
    }
}

fn user(id: &str) -> ObjectReference {
    ObjectReference {
        r#type: ObjectType::User as i32,
        id: id.into(),
        tenant_id: String::new(),
    }
}

/// `lms dev` serving on free ports, its data in a directory of the test's, not yet seeded.
struct Running {
    endpoints: Vec<(ServiceName, SocketAddr)>,
    seeder: Seeder,
    shutdown: CancellationToken,
    running: tokio::task::JoinHandle<Result<(), lms_runtime::BootError>>,
}

async fn start(data_dir: &Path) -> Running {
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let dev = lms_platform::dev::build(config, data_dir).await.unwrap();
    let shutdown = CancellationToken::new();
    Running {
        endpoints: dev.platform.endpoints(),
        seeder: dev.seeder(),
        shutdown: shutdown.clone(),
        running: tokio::spawn(dev.platform.run_until_stopped(shutdown)),
    }
}

fn kept_ids(data_dir: &Path) -> DemoIds {
    DemoIds::parse(&std::fs::read_to_string(data_dir.join(DEMO_ENV_FILE)).unwrap())
}

#[tokio::test]
async fn lms_dev_seeds_a_demo_world_whose_people_hold_what_the_banner_says_and_seeds_it_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let Running {
        endpoints,
        seeder,
        shutdown,
        running,
    } = Box::pin(start(data_dir.path())).await;
    let address = |wanted: ServiceName| {
        let (_, addr) = endpoints.iter().find(|(name, _)| *name == wanted).unwrap();
        format!("http://{addr}")
    };
    let explorer = Explorer {
        identity: connect(address(ServiceName::Identity)).await.unwrap(),
        authorization: connect(address(ServiceName::Authorization)).await.unwrap(),
        delegation: address(ServiceName::Delegation),
    };

    let demo = seeder.seed().await.unwrap();
    assert!(demo.created);
    // demo.env names every id of the world, as the seeding answered them.
    let ids = kept_ids(data_dir.path());
    for key in DEMO_ENV_KEYS {
        assert!(ids.get(key).is_some_and(|id| !id.is_empty()), "{key}");
    }
    assert_eq!(ids, demo.ids);
    assert_eq!(ids.get("DEMO_TENANT"), Some(demo.tenant.as_str()));
    let id = |key: &str| ids.get(key).unwrap().to_owned();
    let (academy, group, client) = (id("DEMO_TENANT"), id("GROUP_TENANT"), id("CLIENT_TENANT"));
    let banner = lms_platform::dev::banner(&endpoints, data_dir.path(), &demo);
    for who in [
        "tutor@demo.example",
        "master@group.example",
        &academy,
        &client,
        "Advanced Chemistry",
        &id("DEMO_COURSE_CHEMISTRY"),
    ] {
        assert!(banner.contains(who), "the banner does not name {who}");
    }

    // The demo tenant's administrator sees its 32 people: eight named, 24 learners.
    let admin = explorer.sign_in(&academy, "admin@demo.example").await;
    let people = explorer.users(&admin).await;
    assert_eq!(people.len(), 32);
    let learner = |n: &str| {
        people
            .iter()
            .find(|p| p.email == format!("learner{n}@demo.example"))
            .unwrap()
            .clone()
    };
    let (science_learner, harbour_learner) = (learner("01"), learner("13"));
    assert_eq!(science_learner.user_id, id("LEARNER01_ID"));
    assert_eq!(science_learner.primary_group_id, id("SCIENCE_TEAM"));
    assert_eq!(harbour_learner.primary_group_id, id("HARBOUR_TEAM"));
    let main_unit = |person: &User| {
        let main = person.employments.iter().find(|e| e.main_account).unwrap();
        main.unit_id.clone()
    };
    assert_eq!(main_unit(&science_learner), id("SCIENCE_WING"));
    assert_eq!(main_unit(&harbour_learner), id("NORTH_CAMPUS"));

    // The Tutor signs in with the shared password, and their decisions answer.
    let tutor = explorer.sign_in(&academy, "tutor@demo.example").await;
    assert!(
        explorer
            .may(&tutor, "users.read", user(&id("TUTOR_ID")))
            .await
    );
    assert!(
        !explorer
            .may(&tutor, "users.read", user(&id("LEARNER01_ID")))
            .await
    );

    // The Multiple Location Administrator of North Campus reaches Science Wing below it; the
    // Local Administrator of Science Wing reaches no further than it.
    let multi = explorer.sign_in(&academy, "multi@demo.example").await;
    assert!(
        explorer
            .may(&multi, "users.read", user(&science_learner.user_id))
            .await
    );
    assert!(
        explorer
            .may(&multi, "users.read", user(&harbour_learner.user_id))
            .await
    );
    let local = explorer.sign_in(&academy, "local@demo.example").await;
    assert!(
        explorer
            .may(&local, "users.read", user(&science_learner.user_id))
            .await
    );
    assert!(
        !explorer
            .may(&local, "users.read", user(&harbour_learner.user_id))
            .await
    );

    // The manager of both teams reads their people, and nobody else's profile.
    let manager = explorer.sign_in(&academy, "manager@demo.example").await;
    assert!(
        explorer
            .may(&manager, "users.read", user(&science_learner.user_id))
            .await
    );
    assert!(
        explorer
            .may(&manager, "users.read", user(&harbour_learner.user_id))
            .await
    );
    assert!(
        !explorer
            .may(&manager, "users.read", user(&id("COORDINATOR_ID")))
            .await
    );

    // Demo Client is Demo Group's client: its Master Administrator reads the client's reports,
    // which the group's LMS Administrator (no client reach) does not.
    let client_tenant = ObjectReference {
        r#type: ObjectType::Tenant as i32,
        id: client.clone(),
        tenant_id: client.clone(),
    };
    let mara = explorer.sign_in(&group, "master@group.example").await;
    assert!(
        explorer
            .may(&mara, "reports.read", client_tenant.clone())
            .await
    );
    let group_admin = explorer.sign_in(&group, "admin@group.example").await;
    assert!(
        !explorer
            .may(&group_admin, "reports.read", client_tenant)
            .await
    );
    // Demo Group granted Group induction to Demo Client, whose people see it.
    let client_admin = explorer.sign_in(&client, "admin@client.example").await;
    let granted = explorer
        .delegation(&client_admin)
        .await
        .grants()
        .list_granted_courses(lms_api::delegation::v1::ListGrantedCoursesRequest {})
        .await
        .unwrap()
        .into_inner()
        .courses;
    let granted: Vec<_> = granted
        .into_iter()
        .map(|g| (g.course.unwrap().course_id, g.owner_tenant_id))
        .collect();
    assert_eq!(granted, [(id("GROUP_COURSE_INDUCTION"), group.clone())]);

    // Three courses: one at the tenant, one owned by Science Wing, one needing approval. The
    // Tutor tutors two of them and sees only those; the assistant administers the third.
    let courses = explorer.courses(&admin).await;
    assert_eq!(courses.len(), 3);
    let course = |key: &str| {
        courses
            .iter()
            .find(|c| c.course_id == id(key))
            .unwrap_or_else(|| panic!("{key} is not listed"))
            .clone()
    };
    let (safety, fieldwork, chemistry) = (
        course("DEMO_COURSE_SAFETY"),
        course("DEMO_COURSE_FIELDWORK"),
        course("DEMO_COURSE_CHEMISTRY"),
    );
    assert_eq!(safety.unit_id, "");
    assert_eq!(fieldwork.unit_id, id("SCIENCE_WING"));
    assert!(chemistry.enrolment_requires_approval && !safety.enrolment_requires_approval);
    for tutored in [&safety, &chemistry] {
        assert_eq!(tutored.tutor_user_id, id("TUTOR_ID"), "{}", tutored.title);
    }
    assert_eq!(chemistry.administrator_user_ids, [id("ASSISTANT_ID")]);
    let mut tutors_view: Vec<String> = explorer
        .courses(&tutor)
        .await
        .into_iter()
        .map(|c| c.course_id)
        .collect();
    tutors_view.sort();
    let mut theirs = vec![safety.course_id.clone(), chemistry.course_id.clone()];
    theirs.sort();
    assert_eq!(tutors_view, theirs);
    // Lab Safety is deployed to the Science Team: its twelve learners and Sam Student.
    let mut science_team: Vec<String> = people
        .iter()
        .filter(|p| p.primary_group_id == id("SCIENCE_TEAM"))
        .map(|p| p.user_id.clone())
        .collect();
    science_team.sort();
    assert_eq!(science_team.len(), 13);
    let safety_learners = explorer.enrolled(&tutor, &safety.course_id).await;
    assert_eq!(safety_learners, science_team);
    // Sam asked to join Advanced Chemistry, and waits for the Tutor.
    assert_eq!(
        explorer.waiting(&tutor, &chemistry.course_id).await,
        [id("STUDENT_ID")]
    );
    assert!(
        explorer
            .enrolled(&tutor, &chemistry.course_id)
            .await
            .is_empty()
    );

    // A second seed on the same data dir creates nothing.
    let again = seeder.seed().await.unwrap();
    assert!(!again.created);
    assert_eq!(again.ids, ids);
    assert_eq!(again.tenant, academy);

    // Without demo.env (a run stopped before writing it), everything is found again, not
    // made twice.
    std::fs::remove_file(data_dir.path().join(DEMO_ENV_FILE)).unwrap();
    let resumed = seeder.seed().await.unwrap();
    assert!(resumed.created);
    assert_eq!(resumed.ids, ids);
    assert_eq!(kept_ids(data_dir.path()), ids);
    assert_eq!(explorer.users(&admin).await.len(), 32);
    assert_eq!(explorer.courses(&admin).await.len(), 3);
    assert_eq!(
        explorer.enrolled(&admin, &safety.course_id).await,
        safety_learners
    );
    assert_eq!(
        explorer.waiting(&admin, &chemistry.course_id).await,
        [id("STUDENT_ID")]
    );

    // A data dir seeded before demo.env existed kept only the demo tenant's id: the rest of
    // the world is seeded into that tenant, beside its administrator.
    std::fs::remove_file(data_dir.path().join(DEMO_ENV_FILE)).unwrap();
    std::fs::remove_file(data_dir.path().join("demo-tenants")).unwrap();
    assert_eq!(
        std::fs::read_to_string(data_dir.path().join(DEMO_TENANT_FILE)).unwrap(),
        academy
    );
    let upgraded = seeder.seed().await.unwrap();
    for key in [
        "DEMO_TENANT",
        "ADMIN_ID",
        "MULTI_ID",
        "SCIENCE_WING",
        "SCIENCE_TEAM",
        "DEMO_COURSE_SAFETY",
        "DEMO_COURSE_CHEMISTRY",
    ] {
        assert_eq!(upgraded.ids.get(key), ids.get(key), "{key}");
    }
    assert_eq!(explorer.users(&admin).await.len(), 32);
    assert_eq!(explorer.courses(&admin).await.len(), 3);

    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// The names of the tenants operators created, as the platform's audit trail lists them.
async fn tenants_created(identity: &lms_client::Client) -> Vec<String> {
    let created = identity
        .audit()
        .list_platform_audit_records(ListPlatformAuditRecordsRequest {
            action: "tenant.created".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    let mut names = Vec::new();
    for record in created {
        let tenant = identity
            .tenants()
            .get_tenant(GetTenantRequest {
                tenant_id: record.object_id,
            })
            .await
            .unwrap()
            .into_inner()
            .tenant
            .unwrap();
        names.push(tenant.name);
    }
    names
}

#[tokio::test]
async fn a_tenant_a_stopped_run_made_but_never_kept_is_found_not_made_twice() {
    let data_dir = tempfile::tempdir().unwrap();
    let Running {
        endpoints,
        seeder,
        shutdown,
        running,
    } = Box::pin(start(data_dir.path())).await;
    let (_, identity) = endpoints
        .iter()
        .find(|(name, _)| *name == ServiceName::Identity)
        .unwrap();
    let identity = lms_client::Client::anonymous(&format!("http://{identity}"))
        .await
        .unwrap();

    // A run that stopped right after CreateTenant answered: the demo tenant exists, and
    // nothing in the data dir names it.
    let kept = DemoIds::parse(&std::fs::read_to_string(data_dir.path().join("operator")).unwrap());
    let operator = identity
        .service_token(
            kept.get("LMS_CLIENT_ID").unwrap(),
            kept.get("LMS_CLIENT_SECRET").unwrap(),
        )
        .await
        .unwrap();
    let operator = identity.with_token(&operator).unwrap();
    let made = operator
        .tenants()
        .create_tenant(CreateTenantRequest {
            name: "Demo Academy".into(),
            settings: Some(TenantSettings::default()),
            access_coordinator: Some(NewUser {
                email: "admin@demo.example".into(),
                given_name: "Ada".into(),
                family_name: "Admin".into(),
                password: DEMO_ADMIN_PASSWORD.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap()
        .tenant_id;

    let demo = seeder.seed().await.unwrap();
    assert_eq!(
        demo.tenant, made,
        "the tenant made before is the demo tenant"
    );
    let mut names = tenants_created(&operator).await;
    names.sort();
    assert_eq!(names, ["Demo Academy", "Demo Client", "Demo Group"]);

    shutdown.cancel();
    running.await.unwrap().unwrap();
}
