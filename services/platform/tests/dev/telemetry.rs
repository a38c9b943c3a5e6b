//! `lms dev` exporting to an OpenTelemetry collector, as an SRE wires it: one trace per request
//! across the services it touches, and every metric the shipped dashboard and alert rules ask
//! for, under the names Prometheus gives them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_api::authorization::v1::CheckRequest;
use lms_api::delegation::v1::GetCourseRequest;
use lms_api::identity::v1::GetUserRequest;
use lms_api::reporting::v1::GetTenantSummaryRequest;
use lms_client::{Client, reference};
use lms_runtime::layers::DURATION_BUCKETS;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::NumberDataPoint;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::server::TcpIncoming;
use tonic_prost::ProstCodec;

use crate::{banner, lms_dev};

/// One exported span.
#[derive(Debug, Clone)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    name: String,
    attributes: BTreeMap<String, String>,
    /// The attributes of the process that exported it.
    resource: BTreeMap<String, String>,
}

/// How a metric was exported.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Histogram { bounds: Vec<f64> },
    Counter,
    Gauge,
}

/// One exported metric: its kind, unit and every attribute seen on its points.
#[derive(Debug, Clone)]
struct Metric {
    kind: Kind,
    unit: String,
    attributes: BTreeSet<String>,
}

impl Metric {
    /// The names the OpenTelemetry Collector's Prometheus exporters give its series.
    fn prometheus_names(&self, name: &str) -> Vec<String> {
        let mut base = name.replace('.', "_");
        if self.unit == "s" && !base.ends_with("_seconds") {
            base.push_str("_seconds");
        }
        match self.kind {
            Kind::Histogram { .. } => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{base}{suffix}"))
                .collect(),
            Kind::Counter => vec![format!("{base}_total")],
            Kind::Gauge => vec![base],
        }
    }
}

/// What the collector received.
#[derive(Debug, Default)]
struct Received {
    spans: Vec<Span>,
    metrics: BTreeMap<String, Metric>,
}

/// An OTLP/gRPC receiver that keeps what it is sent.
#[derive(Debug, Clone, Default)]
struct Collector {
    received: Arc<Mutex<Received>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|pair| {
            let value = match pair.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(text)) => text.clone(),
                Some(any_value::Value::IntValue(number)) => number.to_string(),
                Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
                Some(any_value::Value::DoubleValue(number)) => number.to_string(),
                other => format!("{other:?}"),
            };
            (pair.key.clone(), value)
        })
        .collect()
}

/// The attributes of each of a counter's or gauge's points.
fn numbers(points: &[NumberDataPoint]) -> Vec<BTreeMap<String, String>> {
    points
        .iter()
        .map(|point| attributes(&point.attributes))
        .collect()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.received.lock().unwrap();
        for spans in request.into_inner().resource_spans {
            let resource = attributes(&spans.resource.unwrap_or_default().attributes);
            for scope in spans.scope_spans {
                received
                    .spans
                    .extend(scope.spans.into_iter().map(|span| Span {
                        trace: hex(&span.trace_id),
                        id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                        name: span.name,
                        attributes: attributes(&span.attributes),
                        resource: resource.clone(),
                    }));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.received.lock().unwrap();
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                for metric in scope.metrics {
                    let (kind, points) = match metric.data {
                        Some(Data::Histogram(histogram)) => {
                            let bounds = histogram
                                .data_points
                                .first()
                                .map(|point| point.explicit_bounds.clone())
                                .unwrap_or_default();
                            let points = histogram
                                .data_points
                                .iter()
                                .map(|point| attributes(&point.attributes))
                                .collect::<Vec<_>>();
                            (Kind::Histogram { bounds }, points)
                        }
                        Some(Data::Sum(sum)) if sum.is_monotonic => {
                            (Kind::Counter, numbers(&sum.data_points))
                        }
                        Some(Data::Sum(sum)) => (Kind::Gauge, numbers(&sum.data_points)),
                        Some(Data::Gauge(gauge)) => (Kind::Gauge, numbers(&gauge.data_points)),
                        other => panic!("{} exported as {other:?}", metric.name),
                    };
                    let seen = received
                        .metrics
                        .entry(metric.name.clone())
                        .or_insert_with(|| Metric {
                            kind: kind.clone(),
                            unit: metric.unit.clone(),
                            attributes: BTreeSet::new(),
                        });
                    seen.kind = kind;
                    for point in points {
                        seen.attributes
                            .extend(point.iter().map(|(key, value)| format!("{key}={value}")));
                    }
                }
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    /// Serves OTLP/gRPC on a free port; answers its `http://` endpoint.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let router = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(self.clone()))
            .add_service(MetricsServiceServer::new(self.clone()));
        tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
        endpoint
    }

    /// Waits (up to a minute) until `done` holds of what was received, and answers whether it
    /// did.
    async fn until(&self, done: impl Fn(&Received) -> bool) -> bool {
        for _ in 0..120 {
            if done(&self.received.lock().unwrap()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }
}

/// A running `lms dev` and what its banner and `demo.env` say.
struct Dev {
    _process: tokio::process::Child,
    endpoints: BTreeMap<String, String>,
    token: String,
    ids: BTreeMap<String, String>,
    /// Its standard error, shown when the test fails.
    log: std::path::PathBuf,
}

impl Drop for Dev {
    #[allow(
        clippy::print_stderr,
        reason = "a failing test shows what lms dev said"
    )]
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- lms dev's standard error\n{log}");
        }
    }
}

/// Starts `lms dev` in `dir` exporting to `collector` (every second, so the test need not wait
/// for the default minute), on the test Redis as a deployment runs it.
async fn dev_exporting_to(collector: &str, dir: &Path, redis: &lms_testkit::TestRedis) -> Dev {
    let key = || uuid::Uuid::new_v4().simple().to_string();
    let env = [
        ("LMS_TELEMETRY__OTLP_ENDPOINT", collector.to_owned()),
        ("LMS_REDIS__URL", redis.url().to_owned()),
        ("LMS_REDIS__KEY_PREFIX", redis.prefix().to_owned()),
        ("LMS_REDIS__MAC_KEY", key()),
        ("LMS_REDIS__REVOCATIONS_MAC_KEY", key()),
        ("LMS_REDIS__EVENTS_MAC_KEY", key()),
        ("LMS_SIGN_IN__LOCKOUT_THRESHOLD", "3".to_owned()),
        // Ten attempts at once per account, then one a minute: a burst is shed.
        (
            "LMS_SIGN_IN__ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
            "1".to_owned(),
        ),
    ];
    let data_dir = dir.join(".lms");
    let mut process = lms_dev(dir, &env)
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stderr(std::fs::File::create(dir.join("lms-dev.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let banner = banner(&mut lines)
        .await
        .unwrap_or_else(|printed| panic!("no banner:\n{}", printed.join("\n")));
    // Kept read: a closed pipe would fail whatever lms dev prints next.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let endpoints = banner
        .iter()
        .filter_map(|line| {
            let (name, url) = line.trim().split_once(' ')?;
            let url = url.trim();
            url.starts_with("http://")
                .then(|| (name.to_owned(), url.to_owned()))
        })
        .collect();
    let token = banner
        .iter()
        .position(|line| line.starts_with("Bearer token for admin@demo.example"))
        .map(|at| banner[at + 1].trim().to_owned())
        .expect("the banner shows the admin's token");
    let ids = std::fs::read_to_string(data_dir.join("demo.env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    Dev {
        _process: process,
        endpoints,
        token,
        ids,
        log: dir.join("lms-dev.log"),
    }
}

/// A request carrying a trace context of the caller's: answers (trace id, parent span id).
fn traced<T>(message: T) -> (tonic::Request<T>, String, String) {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace}-{parent}-01").parse().unwrap(),
    );
    (request, trace, parent)
}

/// Whether `span`'s parent chain, within `spans`, reaches the span `ancestor`.
fn descends_from(spans: &[Span], span: &Span, ancestor: &str) -> bool {
    let mut parent = span.parent.clone();
    for _ in 0..spans.len() {
        if parent == ancestor {
            return true;
        }
        match spans.iter().find(|candidate| candidate.id == parent) {
            Some(next) => parent = next.parent.clone(),
            None => return false,
        }
    }
    false
}

/// The queries of the shipped dashboard (every `expr`, however deep its panels nest) and of
/// the alert rules (the file whole: an expression may span lines).
fn observability_queries() -> Vec<String> {
    fn expressions(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    match value.as_str() {
                        Some(expr) if key == "expr" => into.push(expr.to_owned()),
                        _ => expressions(value, into),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| expressions(item, into));
            }
            _ => {}
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../k8s/observability");
    let dashboard = std::fs::read_to_string(root.join("grafana-dashboard.json")).unwrap();
    let mut queries = Vec::new();
    expressions(&serde_json::from_str(&dashboard).unwrap(), &mut queries);
    queries.push(std::fs::read_to_string(root.join("alert-rules.yaml")).unwrap());
    queries
}

/// The metric names in `queries`: their `lms_` and `rpc_` words that are not `labels`.
fn metric_names(queries: &[String], labels: &BTreeSet<String>) -> BTreeSet<String> {
    queries
        .iter()
        .flat_map(|query| query.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|word| {
            (word.starts_with("lms_") || word.starts_with("rpc_")) && !labels.contains(*word)
        })
        .map(str::to_owned)
        .collect()
}

/// The exact label matchers in `queries` (`label="value"`; not `!=`, `=~` or `job`): each
/// names a value some series must carry for the query to show anything.
fn exact_matchers(queries: &[String]) -> BTreeSet<(String, String)> {
    let mut matchers = BTreeSet::new();
    for query in queries {
        for (at, _) in query.match_indices("=\"") {
            let label: String = query[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let rest = &query[at + 2..];
            let value = &rest[..rest.find('"').unwrap()];
            if !label.is_empty() && label != "job" && !query[..at].ends_with('!') {
                matchers.insert((label, value.to_owned()));
            }
        }
    }
    matchers
}

#[tokio::test]
async fn lms_dev_exports_one_trace_per_request_and_every_metric_the_dashboard_queries() {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let dir = tempfile::tempdir().unwrap();
    let redis = lms_testkit::redis().await;
    let dev = dev_exporting_to(&endpoint, dir.path(), &redis).await;
    let at = |service: &str| dev.endpoints[service].clone();
    let id = |key: &str| dev.ids[key].clone();

    // Three reads, one per service, each under a trace of the caller's.
    let mut traces = Vec::new();
    let identity = Client::connect(&at("identity"), &dev.token).await.unwrap();
    let (request, trace, parent) = traced(GetUserRequest {
        user_id: id("STUDENT_ID"),
    });
    identity.users().get_user(request).await.unwrap();
    traces.push(("lms.identity.v1.UserService/GetUser", trace, parent));
    let delegation = Client::connect(&at("delegation"), &dev.token)
        .await
        .unwrap();
    let (request, trace, parent) = traced(GetCourseRequest {
        course_id: id("DEMO_COURSE_SAFETY"),
    });
    delegation.courses().get_course(request).await.unwrap();
    traces.push(("lms.delegation.v1.CourseService/GetCourse", trace, parent));
    let reporting = Client::connect(&at("reporting"), &dev.token).await.unwrap();
    let (request, trace, parent) = traced(GetTenantSummaryRequest {
        page_size: 0,
        page_token: String::new(),
    });
    reporting
        .reports()
        .get_tenant_summary(request)
        .await
        .unwrap();
    traces.push((
        "lms.reporting.v1.ReportService/GetTenantSummary",
        trace,
        parent,
    ));

    // A product's own Check, as fresh as the cache allows: read from the store, then from
    // the cache. (The services' decisions above ask for full consistency and bypass it.)
    let authorization = Client::connect(&at("authorization"), &dev.token)
        .await
        .unwrap();
    // (Several: the cache may decline to keep an answer that raced a write.)
    for _ in 0..5 {
        let check = CheckRequest {
            subject_id: id("STUDENT_ID"),
            permission: "users.read".to_owned(),
            resource: Some(reference(&format!("user:{}", id("STUDENT_ID"))).unwrap()),
            consistency: None,
        };
        authorization.permissions().check(check).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A method nobody serves, its name the caller's: counted as `_OTHER`, never by that name.
    let channel = tonic::transport::Channel::from_shared(at("identity"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let invented = grpc
        .unary(
            tonic::Request::new(GetUserRequest::default()),
            PathAndQuery::from_static("/lms.identity.v1.UserService/Invented"),
            ProstCodec::<GetUserRequest, GetUserRequest>::default(),
        )
        .await;
    assert!(invented.is_err(), "{invented:?}");

    // What an SRE alerts on: wrong passwords up to a lockout, and a token nobody issued.
    let anonymous = Client::anonymous(&at("identity")).await.unwrap();
    for _ in 0..4 {
        let refused = anonymous
            .sign_in(
                &id("DEMO_TENANT"),
                "student@demo.example",
                "not-the-password",
            )
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    }
    // Locked, it keeps answering at once, until the account's attempts run out and identity
    // sheds the rest (RESOURCE_EXHAUSTED, what the load-shedding alert counts).
    let mut shed = None;
    for _ in 0..12 {
        let refused = anonymous
            .sign_in(
                &id("DEMO_TENANT"),
                "student@demo.example",
                "not-the-password",
            )
            .await
            .unwrap_err();
        if refused.code() == tonic::Code::ResourceExhausted {
            shed = Some(refused);
            break;
        }
    }
    assert!(shed.is_some(), "no attempt was shed");
    let forged = identity.with_token("not.a.token").unwrap();
    let refused = forged
        .users()
        .get_user(GetUserRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    // Each request is one trace: its server span is the child of the caller's span, and the
    // authorization decision it asked for is a span below it.
    let all_traced = collector
        .until(|received| {
            traces.iter().all(|(name, trace, _)| {
                received
                    .spans
                    .iter()
                    .any(|span| span.trace == *trace && span.name == *name)
                    && received.spans.iter().any(|span| {
                        span.trace == *trace && span.name.starts_with("lms.authorization.v1.")
                    })
            })
        })
        .await;
    let spans = collector.received.lock().unwrap().spans.clone();
    let names = |trace: &str| {
        spans
            .iter()
            .filter(|span| span.trace == trace)
            .map(|span| span.name.clone())
            .collect::<Vec<_>>()
    };
    for (name, trace, parent) in &traces {
        assert!(all_traced, "{name}: spans {:?}", names(trace));
        let server = spans
            .iter()
            .find(|span| span.trace == *trace && span.name == *name)
            .unwrap();
        assert_eq!(server.parent, *parent, "{server:?}");
        let (service, method) = name.split_once('/').unwrap();
        assert_eq!(server.attributes["rpc.system"], "grpc");
        assert_eq!(server.attributes["rpc.service"], service);
        assert_eq!(server.attributes["rpc.method"], method);
        assert_eq!(server.attributes["rpc.grpc.status_code"], "0");
        assert_eq!(server.resource["service.name"], "lms-dev");
        assert!(
            server.resource.contains_key("service.instance.id"),
            "{server:?}"
        );
        let decision = spans
            .iter()
            .find(|span| span.trace == *trace && span.name.starts_with("lms.authorization.v1."))
            .unwrap();
        assert!(
            descends_from(&spans, decision, &server.id),
            "{decision:?} is not below {server:?}: {:?}",
            names(trace)
        );
    }

    // Every metric the dashboard and the alert rules query is exported, under the name the
    // collector gives it in Prometheus; and the counters above were counted with their reasons.
    // Each attribute seen, as the Prometheus label it becomes.
    let labelled = |received: &Received| {
        received
            .metrics
            .values()
            .flat_map(|metric| &metric.attributes)
            .filter_map(|attribute| {
                let (key, value) = attribute.split_once('=')?;
                Some((key.replace('.', "_"), value.to_owned()))
            })
            .collect::<BTreeSet<_>>()
    };
    let labels = |received: &Received| {
        labelled(received)
            .into_iter()
            .map(|(label, _)| label)
            .collect::<BTreeSet<_>>()
    };
    let exported = |received: &Received| {
        received
            .metrics
            .iter()
            .flat_map(|(name, metric)| metric.prometheus_names(name))
            .collect::<BTreeSet<_>>()
    };
    let reasons = [
        ("lms.identity.sign_in.failures", "reason=wrong_credential"),
        ("lms.identity.sign_in.failures", "reason=locked_out"),
        ("lms.authorization.cache.lookups", "outcome=miss"),
        ("lms.authorization.cache.lookups", "outcome=local"),
        ("lms.authorization.cache.lookups", "outcome=bypassed"),
        ("rpc.server.call.duration", "rpc.method=_OTHER"),
    ];
    let counted = |received: &Received| {
        reasons.iter().all(|(name, attribute)| {
            received
                .metrics
                .get(*name)
                .is_some_and(|metric| metric.attributes.contains(*attribute))
        })
    };
    let queries = observability_queries();
    let complete = collector
        .until(|received| {
            metric_names(&queries, &labels(received)).is_subset(&exported(received))
                && exact_matchers(&queries).is_subset(&labelled(received))
                && counted(received)
        })
        .await;
    let received = collector.received.lock().unwrap();
    let wanted = metric_names(&queries, &labels(&received));
    assert!(wanted.len() >= 10, "{wanted:?}");
    let missing: Vec<String> = wanted.difference(&exported(&received)).cloned().collect();
    let matchers = exact_matchers(&queries);
    assert!(matchers.len() >= 3, "{matchers:?}");
    let unmatched: Vec<_> = matchers.difference(&labelled(&received)).cloned().collect();
    assert!(
        complete,
        "missing {missing:?}; no series for {unmatched:?}; received {:#?}",
        received.metrics
    );
    let duration = &received.metrics["rpc.server.call.duration"];
    assert_eq!(duration.unit, "s");
    assert_eq!(
        duration.kind,
        Kind::Histogram {
            bounds: DURATION_BUCKETS.to_vec()
        }
    );
    assert!(
        duration.attributes.contains("rpc.method=GetTenantSummary"),
        "{duration:?}"
    );
    // A path the caller made up is not a label value: only the servers' own methods are.
    assert!(
        !duration
            .attributes
            .iter()
            .any(|attribute| attribute.contains("Invented")),
        "{duration:?}"
    );
    assert!(
        received.metrics["lms.auth.tokens.rejected"]
            .attributes
            .iter()
            .any(|attribute| attribute.starts_with("reason=")),
        "{:?}",
        received.metrics["lms.auth.tokens.rejected"]
    );
    assert!(
        received
            .metrics
            .contains_key("lms.identity.sign_in.lockouts")
    );
}
