//! `decide` against Cedar on the same LMS workload: same entities, same requests. Both engines
//! must agree on every request before anything is timed.
//!
//! Run: `make bench` (or `cargo bench -p lms-kernel-bench --features bench`).

use std::hint::black_box;
use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use lms_kernel_bench::{ROLES, Target, Workload};
use serde_json::{Value, json};

/// Cedar policies meaning what the kernel's templates mean for the workload's roles and
/// permissions (see the template table in `lms_kernel::template`).
const POLICIES: &str = r#"
// Student, held by everyone: their own record and reports, booking themselves, their own learning.
permit(principal, action in [Action::"users.read", Action::"users.update", Action::"reports.read", Action::"bookings.create"], resource is User)
when { resource == principal };
permit(principal, action in [Action::"courses.read", Action::"learning.take"], resource is Course)
when { principal.enrolled.contains(resource) };

// Manager: their team (primary members of the groups they manage); all courses read-only.
permit(principal, action in [Action::"users.read", Action::"reports.read", Action::"bookings.create"], resource is User)
when { principal.roles.contains("manager") && principal.managedGroups.contains(resource.primaryGroup) };
permit(principal, action == Action::"courses.read", resource is Course)
when { (principal.roles.contains("manager") || principal.roles.contains("local_administrator")) && resource.tenant == principal.tenant };

// Tutor: the courses they tutor.
permit(principal, action in [Action::"courses.read", Action::"courses.update", Action::"enrolments.approve"], resource is Course)
when { principal.roles.contains("tutor") && principal.tutored.contains(resource) };

// Local Administrator: users of their location, when locations are enabled.
permit(principal, action in [Action::"users.read", Action::"users.update", Action::"reports.read", Action::"bookings.create"], resource is User)
when { principal.roles.contains("local_administrator") && principal.locationsEnabled && resource.units.containsAny(principal.adminUnits) };

// LMS Administrator: everything in the tenant.
permit(principal, action, resource)
when { principal.roles.contains("lms_administrator") && resource.tenant == principal.tenant };

// Tenants never leak into each other; only active users act.
forbid(principal, action, resource) unless { resource.tenant == principal.tenant };
forbid(principal, action, resource) unless { principal.status == "active" };
"#;

fn entity(kind: &str, id: impl ToString) -> Value {
    json!({ "__entity": { "type": kind, "id": id.to_string() } })
}

fn entities(workload: &Workload) -> Entities {
    let mut all = Vec::new();
    for person in &workload.people {
        let role = ROLES.iter().find(|(t, _)| *t == person.role).unwrap().1;
        let s = &person.subject;
        let r = &person.resource;
        all.push(json!({
            "uid": { "type": "User", "id": s.user.to_string() },
            "attrs": {
                "tenant": s.tenant.to_string(),
                "status": "active",
                "roles": [role],
                "locationsEnabled": s.settings.locations_enabled,
                "managedGroups": s.managed_groups.iter().map(|g| entity("Group", g)).collect::<Vec<_>>(),
                "tutored": s.tutored_courses.iter().map(|c| entity("Course", c)).collect::<Vec<_>>(),
                "enrolled": s.enrolled_courses.iter().map(|c| entity("Course", c)).collect::<Vec<_>>(),
                "adminUnits": person.admin_unit.iter().map(|u| entity("Unit", u)).collect::<Vec<_>>(),
                "primaryGroup": entity("Group", r.primary_group.unwrap()),
                "units": r.units.iter().map(|u| entity("Unit", u)).collect::<Vec<_>>(),
            },
            "parents": [],
        }));
    }
    for course in &workload.courses {
        all.push(json!({
            "uid": { "type": "Course", "id": course.id.to_string() },
            "attrs": { "tenant": course.resource.tenant.to_string() },
            "parents": [],
        }));
    }
    Entities::from_json_value(Value::Array(all), None).expect("entities parse")
}

fn uid(kind: &str, id: impl ToString) -> EntityUid {
    EntityUid::from_str(&format!("{kind}::\"{}\"", id.to_string())).expect("uid parses")
}

fn cedar_requests(workload: &Workload) -> Vec<Request> {
    workload
        .requests
        .iter()
        .map(|request| {
            let principal = uid("User", workload.people[request.subject].subject.user);
            let action = uid("Action", request.permission.name());
            let resource = match request.target {
                Target::Person(i) => uid("User", workload.people[i].subject.user),
                Target::Course(i) => uid("Course", workload.courses[i].id),
            };
            Request::new(principal, action, resource, Context::empty(), None).expect("request")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let workload = Workload::generate(2_000, 200, 10_000);
    let policies = PolicySet::from_str(POLICIES).expect("policies parse");
    let entities = entities(&workload);
    let requests = cedar_requests(&workload);
    let authorizer = Authorizer::new();

    // Same answers on every request, or the comparison means nothing.
    let mut allowed = 0;
    for (index, request) in requests.iter().enumerate() {
        let kernel = workload.decide(index);
        let cedar = authorizer
            .is_authorized(request, &policies, &entities)
            .decision()
            == Decision::Allow;
        assert_eq!(
            kernel, cedar,
            "engines disagree on request {index}: {:?}",
            workload.requests[index]
        );
        allowed += usize::from(kernel);
    }
    println!(
        "workload: {} requests, {} allowed, {} denied; both engines agree on all",
        requests.len(),
        allowed,
        requests.len() - allowed
    );

    let mut group = c.benchmark_group("decide");
    let mut next = 0;
    group.bench_function("kernel", |b| {
        b.iter(|| {
            next = (next + 1) % workload.requests.len();
            black_box(workload.decide(black_box(next)))
        })
    });
    let mut next = 0;
    group.bench_function("cedar", |b| {
        b.iter(|| {
            next = (next + 1) % requests.len();
            black_box(authorizer.is_authorized(black_box(&requests[next]), &policies, &entities))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
