//! Every case, run against one deployment.

use std::sync::Arc;
use std::time::Duration;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{
    BatchCheckItem, BatchCheckRequest, CheckRequest, Decision, LookupResourcesRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectType};
use lms_kernel::UserId;
use lms_testkit::TestAuth;
use tonic::transport::Channel;

use crate::backend::{Backend, Deployment};
use crate::broad::{self, WarmUp};
use crate::measure::{Call, Outcome, ROUNDS, call, measure, measure_alternating};
use crate::{Args, Client, reference};

/// The broad case's printed name starts with this.
pub const BROAD: &str = "check, broad";
/// The warm case's printed name starts with this.
pub const WARM: &str = "check, warm";
/// The echo's printed name starts with this.
pub const ECHO: &str = "echo";
/// The cold case's printed name starts with this.
pub const COLD: &str = "check, cold";

/// One backend's figures.
pub struct Run {
    /// Where they were measured.
    pub backend: Backend,
    /// The pass that filled the caches before the broad case.
    pub warm_up: Option<WarmUp>,
    /// Every case measured.
    pub outcomes: Vec<Outcome>,
}

/// A health check on `channel`: against the bare echo server, the floor; against the service,
/// what its layer stack costs.
fn health(channel: Channel) -> Call {
    call(move |_| {
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        async move {
            client
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .unwrap();
        }
    })
}

fn check(client: &Client, request: &CheckRequest) -> Call {
    let (client, request) = (client.clone(), request.clone());
    call(move |_| {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client.check(request).await.unwrap();
        }
    })
}

/// Runs the cases `args` selects against `deployment`; `echo` is the bare server's channel, so
/// that every ratio is to an echo measured in the same run.
pub async fn run(deployment: &Deployment, echo: &Channel, auth: &TestAuth, args: &Args) -> Run {
    let (service, tenant) = (&deployment.service, &deployment.tenant);
    let backend = deployment.backend.name();
    let duration = Duration::from_secs(args.seconds);
    let client = |user: UserId| -> Client {
        PermissionServiceClient::new(service.authorized(&auth.user_token(tenant.id, user)))
    };
    let delegation: Client = PermissionServiceClient::new(
        service.authorized(&auth.tenant_service_token("delegation", tenant.id)),
    );
    let latency = Some(Consistency {
        requirement: Some(Requirement::MinimizeLatency(true)),
    });
    let warm = CheckRequest {
        permission: "users.read".into(),
        resource: reference(ObjectType::User, tenant.users[500]),
        consistency: latency,
        subject_id: String::new(),
    };
    let manager = client(tenant.manager);
    let answer = manager.clone().check(warm.clone()).await.unwrap();
    assert_eq!(answer.into_inner().decision(), Decision::Allowed);

    let (mut warm_up, mut broad_case) = (None, None);
    if args.runs("broad") && args.pairs > 0 {
        let questions = broad::questions(tenant, args.pairs);
        // The figures are the steady state after this pass: it asks every pair once, so the
        // caches hold what they can keep of them. Its hit ratios are reported apart.
        let pass = broad::warm_up(&delegation, &questions, 16).await;
        println!(
            "{backend}: broad warm-up asked {} pairs in {:.1?}",
            pass.questions, pass.took
        );
        broad_case = Some((
            format!("{BROAD} ({} pairs, tokenless)", questions.requests.len()),
            broad::case(&delegation, &questions.requests),
        ));
        warm_up = Some(pass);
    }

    let mut outcomes = Vec::new();
    // The floor, the layers, the warm and the broad Check alternate, so their ratios share
    // conditions.
    for in_flight in [1, 16] {
        let mut cases = Vec::new();
        if args.runs("echo") {
            cases.push((
                format!("{ECHO} (bare tonic health check)"),
                health(echo.clone()),
            ));
        }
        // The same server's layer stack (request id, tracing, deadline, auth skipped for
        // health, concurrency limit) around a health check: what the layers cost.
        if args.runs("layers") {
            cases.push((
                "health check through the service's layers".into(),
                health(service.channel()),
            ));
        }
        if args.runs("warm") {
            cases.push((format!("{WARM} cache (one pair)"), check(&manager, &warm)));
        }
        if let Some((name, call)) = &broad_case {
            cases.push((name.clone(), call.clone()));
        }
        outcomes.extend(measure_alternating(&cases, in_flight, duration, ROUNDS).await);
    }

    let users = Arc::new(tenant.users.clone());
    let courses = Arc::new(tenant.courses.clone());
    if args.runs("cold") {
        let (d, users, courses) = (delegation.clone(), users.clone(), courses.clone());
        let full = Some(Consistency {
            requirement: Some(Requirement::FullyConsistent(true)),
        });
        let name = format!("{COLD} (fully consistent, random subject)");
        outcomes.push(
            measure(&name, 1, duration, move |i| {
                let mut d = d.clone();
                let subject = users[(i as usize * 7919) % users.len()];
                let course = courses[(i as usize * 104_729) % courses.len()];
                let request = CheckRequest {
                    subject_id: subject.to_string(),
                    permission: "learning.take".into(),
                    resource: reference(ObjectType::Course, course),
                    consistency: full.clone(),
                };
                async move {
                    d.check(request).await.unwrap();
                }
            })
            .await,
        );
    }
    if args.runs("batch") {
        let (d, users, courses) = (delegation.clone(), users.clone(), courses.clone());
        outcomes.push(
            measure("batch check of 100", 1, duration, move |i| {
                let mut d = d.clone();
                let items = (0..100u64)
                    .map(|k| BatchCheckItem {
                        subject_id: users[((i * 100 + k) as usize * 7919) % 1000].to_string(),
                        permission: "courses.read".into(),
                        resource: reference(
                            ObjectType::Course,
                            courses[(k as usize * 31) % courses.len()],
                        ),
                    })
                    .collect();
                async move {
                    d.batch_check(BatchCheckRequest {
                        items,
                        consistency: None,
                    })
                    .await
                    .unwrap();
                }
            })
            .await,
        );
    }
    if args.runs("lookup") {
        let lookup = |who: UserId, permission: &str, kind: ObjectType| {
            let c = client(who);
            let request = LookupResourcesRequest {
                permission: permission.into(),
                resource_type: kind as i32,
                page_size: 10_000,
                ..Default::default()
            };
            move |_| {
                let (mut c, request) = (c.clone(), request.clone());
                async move {
                    c.lookup_resources(request).await.unwrap();
                }
            }
        };
        let team = client(tenant.manager)
            .lookup_resources(LookupResourcesRequest {
                permission: "users.read".into(),
                resource_type: ObjectType::User as i32,
                page_size: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .resource_ids
            .len();
        outcomes.push(
            measure(
                &format!("lookup resources, manager ({team} users)"),
                1,
                duration,
                lookup(tenant.manager, "users.read", ObjectType::User),
            )
            .await,
        );
        outcomes.push(
            measure(
                "lookup resources, tutor (courses)",
                1,
                duration,
                lookup(tenant.tutor, "courses.update", ObjectType::Course),
            )
            .await,
        );
    }
    Run {
        backend: deployment.backend,
        warm_up,
        outcomes,
    }
}
