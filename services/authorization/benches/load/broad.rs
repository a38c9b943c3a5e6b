//! The broad case: tokenless Checks spread uniformly over many distinct (subject, resource)
//! pairs of the generated tenant, asked by a service on people's behalf. Unlike the warm
//! case's one hot pair, it shows whether the cache keeps what a realistic load asks about.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lms_api::authorization::v1::{CheckRequest, Decision};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectType};
use lms_authorization::CacheLookups;

use crate::generate::{COURSES, Tenant, UNITS};
use crate::measure::{Call, call, lookups_since};
use crate::{Client, reference};

/// The seed of the questions and of the order they are asked in: every run, and both
/// backends, ask the same spread.
const SEED: u64 = 0x5eed_b40a_d000_0014;
/// SplitMix64's increment.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output at position `n` of the stream seeded with `seed`: dependency-free, and
/// ample for picking pairs.
fn nth(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng {
    seed: u64,
    drawn: u64,
}

impl Rng {
    /// A uniform index below `n` (the modulo bias is far below what the figures resolve).
    fn below(&mut self, n: usize) -> usize {
        self.drawn += 1;
        (nth(self.seed, self.drawn) % n as u64) as usize
    }

    /// True `percent` % of the time.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Who a question is asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Asker {
    /// Managers reading people, mostly of their team.
    Manager,
    /// Local administrators reading people, mostly of their unit.
    LocalAdministrator,
    /// Tutors reading or taking courses, often ones they run.
    Tutor,
    /// Learners taking or reading courses, often their own.
    Learner,
}

impl Asker {
    /// Every kind, in the order [`Spread`] counts them.
    pub const ALL: [Asker; 4] = [
        Asker::Manager,
        Asker::LocalAdministrator,
        Asker::Tutor,
        Asker::Learner,
    ];

    /// As printed and written to the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Asker::Manager => "managers",
            Asker::LocalAdministrator => "local_administrators",
            Asker::Tutor => "tutors",
            Asker::Learner => "learners",
        }
    }
}

/// Questions, and how many of them were allowed, per [`Asker`] (in [`Asker::ALL`]'s order).
#[derive(Clone, Copy, Default, Debug)]
pub struct Spread {
    /// Questions asked for each kind.
    pub asked: [usize; 4],
    /// Of those, allowed.
    pub allowed: [usize; 4],
}

/// The broad case's questions, each a distinct (subject, resource) pair.
pub struct Questions {
    /// Tokenless Checks with `subject_id` set, as a service asks on someone's behalf.
    pub requests: Arc<Vec<CheckRequest>>,
    /// Who each is asked for.
    pub askers: Arc<Vec<Asker>>,
}

/// Every `LEARNER_STRIDE`th person is a learner whose questions are asked.
const LEARNER_STRIDE: usize = 4;

/// Up to `count` distinct (subject, resource) pairs, drawn at random (seeded), most of them
/// about what the subject works with and some not:
/// - 35 % managers: `users.read` on a person (80 % of their team), or, one in four,
///   `courses.read` on any course;
/// - 25 % local administrators: `users.read` on a person, 80 % of their unit;
/// - 10 % tutors: `courses.read` on a course they run (40 %), or `courses.read` or
///   `learning.take` on any course;
/// - 30 % learners, every fourth person: `learning.take` or `courses.read`, 60 % on the
///   course they are enrolled on.
///
/// A pair drawn again is dropped and another drawn, so where a kind's own pairs run short
/// (a tutor runs only a few courses) the spread shifts to the others; drawing stops after a
/// bound, so a small tenant may give fewer pairs.
pub fn questions(tenant: &Tenant, count: usize) -> Questions {
    let users = tenant.users.len();
    let learners = users
        .saturating_sub(LEARNER_STRIDE - 1)
        .div_ceil(LEARNER_STRIDE);
    let mut rng = Rng {
        seed: SEED,
        drawn: 0,
    };
    let mut seen = HashSet::with_capacity(count);
    let mut requests = Vec::with_capacity(count);
    let mut askers = Vec::with_capacity(count);
    let latency = Some(Consistency {
        requirement: Some(Requirement::MinimizeLatency(true)),
    });
    for _ in 0..count.saturating_mul(50) {
        if requests.len() == count {
            break;
        }
        let roll = rng.below(100);
        let (asker, (subject, permission, kind, target)) = if roll < 35 {
            let (manager, team) = tenant.managers[rng.below(tenant.managers.len())];
            if rng.chance(25) {
                let course = rng.below(COURSES);
                let asked = (manager, "courses.read", ObjectType::Course, course);
                (Asker::Manager, asked)
            } else {
                let people = &tenant.teams[team];
                let person = if rng.chance(80) {
                    people[rng.below(people.len())]
                } else {
                    rng.below(users)
                };
                let asked = (manager, "users.read", ObjectType::User, person);
                (Asker::Manager, asked)
            }
        } else if roll < 60 {
            let Some(&(administrator, unit)) = tenant
                .local_administrators
                .get(rng.below(tenant.local_administrators.len().max(1)))
            else {
                continue;
            };
            let person = if rng.chance(80) {
                // User n works in unit n % UNITS.
                let employees = (users - unit).div_ceil(UNITS);
                unit + UNITS * rng.below(employees)
            } else {
                rng.below(users)
            };
            let asked = (administrator, "users.read", ObjectType::User, person);
            (Asker::LocalAdministrator, asked)
        } else if roll < 70 {
            let (tutor, run) = &tenant.tutors[rng.below(tenant.tutors.len())];
            let (permission, course) = if rng.chance(40) {
                ("courses.read", run[rng.below(run.len())])
            } else if rng.chance(50) {
                ("courses.read", rng.below(COURSES))
            } else {
                ("learning.take", rng.below(COURSES))
            };
            (
                Asker::Tutor,
                (*tutor, permission, ObjectType::Course, course),
            )
        } else {
            if learners == 0 {
                continue;
            }
            let learner = LEARNER_STRIDE - 1 + LEARNER_STRIDE * rng.below(learners);
            let permission = if rng.chance(70) {
                "learning.take"
            } else {
                "courses.read"
            };
            // User n is enrolled on course n % COURSES.
            let course = if rng.chance(60) {
                learner % COURSES
            } else {
                rng.below(COURSES)
            };
            let asked = (learner, permission, ObjectType::Course, course);
            (Asker::Learner, asked)
        };
        if !seen.insert((subject, kind, target)) {
            continue;
        }
        askers.push(asker);
        let resource = match kind {
            ObjectType::User => reference(kind, tenant.users[target]),
            _ => reference(kind, tenant.courses[target]),
        };
        requests.push(CheckRequest {
            subject_id: tenant.users[subject].to_string(),
            permission: permission.into(),
            resource,
            consistency: latency.clone(),
        });
    }
    Questions {
        requests: Arc::new(requests),
        askers: Arc::new(askers),
    }
}

/// The pass over every question that fills the caches before the broad case is measured.
pub struct WarmUp {
    /// Questions asked (each once).
    pub questions: usize,
    /// Who asked them, and how many were allowed.
    pub spread: Spread,
    /// How long the pass took.
    pub took: Duration,
    /// Decision-cache lookups during the pass.
    pub lookups: CacheLookups,
}

/// Asks every question once, `in_flight` at a time.
pub async fn warm_up(client: &Client, questions: &Questions, in_flight: usize) -> WarmUp {
    let requests = &questions.requests;
    let started = Instant::now();
    let before = lms_authorization::cache_lookups();
    let next = Arc::new(AtomicUsize::new(0));
    let lanes: Vec<_> = (0..in_flight)
        .map(|_| {
            let (mut client, requests) = (client.clone(), requests.clone());
            let (askers, next) = (questions.askers.clone(), next.clone());
            tokio::spawn(async move {
                let mut spread = Spread::default();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(k) else {
                        return spread;
                    };
                    let answer = client.check(request.clone()).await.unwrap().into_inner();
                    let kind = askers[k] as usize;
                    spread.asked[kind] += 1;
                    if answer.decision() == Decision::Allowed {
                        spread.allowed[kind] += 1;
                    }
                }
            })
        })
        .collect();
    let mut spread = Spread::default();
    for lane in lanes {
        let lane = lane.await.unwrap();
        for kind in 0..Asker::ALL.len() {
            spread.asked[kind] += lane.asked[kind];
            spread.allowed[kind] += lane.allowed[kind];
        }
    }
    WarmUp {
        questions: requests.len(),
        spread,
        took: started.elapsed(),
        lookups: lookups_since(before),
    }
}

/// The measured call: a question picked at random (seeded) from all of them.
pub fn case(client: &Client, requests: &Arc<Vec<CheckRequest>>) -> Call {
    let (client, requests) = (client.clone(), requests.clone());
    // Counted across lanes and rounds: the lane's own call number restarts every round, which
    // would ask again exactly the pairs the previous round just cached.
    let asked = Arc::new(AtomicU64::new(0));
    call(move |_| {
        let n = asked.fetch_add(1, Ordering::Relaxed);
        let pick = nth(SEED ^ GOLDEN, n) % requests.len() as u64;
        let request = requests[pick as usize].clone();
        let mut client = client.clone();
        async move {
            client.check(request).await.unwrap();
        }
    })
}
