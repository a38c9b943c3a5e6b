//! The printed table, the ratios the targets are stated in, and the JSON.

use serde_json::{Value, json};

use crate::Args;
use crate::backend::Backend;
use crate::broad::Asker;
use crate::cases::{BROAD, COLD, ECHO, Run, WARM};
use crate::measure::{Outcome, hit_ratios};

/// The targets for the broad case, as ratios to the echo.
const TARGET_P50_AT_1: f64 = 1.3;
const TARGET_THROUGHPUT_AT_16: f64 = 0.6;
const TARGET_P99_AT_16: f64 = 2.0;

fn find<'a>(run: &'a Run, name: &str, in_flight: usize) -> Option<&'a Outcome> {
    run.outcomes
        .iter()
        .find(|o| o.name.starts_with(name) && o.in_flight == in_flight)
}

/// A Check case against the echo of the same run: p50 at 1 in flight; throughput and p99 at 16.
struct Ratios {
    p50_at_1: f64,
    throughput_at_16: f64,
    p99_at_16: f64,
}

fn ratios(run: &Run, case: &str) -> Option<Ratios> {
    let (echo1, case1) = (find(run, ECHO, 1)?, find(run, case, 1)?);
    let (echo16, case16) = (find(run, ECHO, 16)?, find(run, case, 16)?);
    Some(Ratios {
        p50_at_1: case1.p50_us / echo1.p50_us,
        throughput_at_16: case16.per_second / echo16.per_second,
        p99_at_16: case16.p99_us / echo16.p99_us,
    })
}

fn percentages(ratios: Option<[f64; 3]>) -> String {
    match ratios {
        Some([local, redis, miss]) => format!("{local:>7.1} {redis:>7.1} {miss:>7.1}"),
        None => format!("{:>7} {:>7} {:>7}", "-", "-", "-"),
    }
}

/// Prints every run's cases, the broad case's warm-up and spread, and the ratios.
pub fn print(runs: &[Run]) {
    println!(
        "\n{:<7} {:<44} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>7} {:>7}",
        "backend",
        "case",
        "flight",
        "calls",
        "p50 µs",
        "p99 µs",
        "calls/s",
        "local %",
        "redis %",
        "miss %"
    );
    for run in runs {
        for o in &run.outcomes {
            println!(
                "{:<7} {:<44} {:>6} {:>8} {:>8.0} {:>8.0} {:>9.0} {}",
                run.backend.name(),
                o.name,
                o.in_flight,
                o.calls,
                o.p50_us,
                o.p99_us,
                o.per_second,
                percentages(hit_ratios(o.lookups)),
            );
        }
    }
    println!();
    for run in runs {
        let name = run.backend.name();
        println!("{name}: {}", run.backend.describe());
        if let Some(w) = &run.warm_up {
            let asked: Vec<String> = Asker::ALL
                .iter()
                .map(|&kind| {
                    let (asked, allowed) = (
                        w.spread.asked[kind as usize],
                        w.spread.allowed[kind as usize],
                    );
                    format!(
                        "{} {asked} ({:.0} % allowed)",
                        kind.name(),
                        percent(allowed, asked)
                    )
                })
                .collect();
            println!("{name}: broad pairs asked for {}", asked.join(", "));
            println!(
                "{name}: broad warm-up pass (fills the caches; not measured): {} checks in {:.1?}, {:.0} % allowed, lookups local/redis/miss % {}",
                w.questions,
                w.took,
                percent(w.spread.allowed.iter().sum(), w.questions),
                percentages(hit_ratios(w.lookups)).trim_start(),
            );
        }
        for (label, case) in [("warm", WARM), ("broad", BROAD)] {
            if let Some(r) = ratios(run, case) {
                println!(
                    "{name}: {label} / echo (same run): p50 {:.2}x at 1 in flight; at 16 in flight throughput {:.2}x, p99 {:.2}x{}",
                    r.p50_at_1,
                    r.throughput_at_16,
                    r.p99_at_16,
                    if case == BROAD {
                        format!(
                            " (targets ≤ {TARGET_P50_AT_1}x; ≥ {TARGET_THROUGHPUT_AT_16}x, ≤ {TARGET_P99_AT_16}x)"
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
        if let Some(cold) = find(run, COLD, 1) {
            println!(
                "{name}: cold Check (fully consistent) p50 {:.0} µs, p99 {:.0} µs",
                cold.p50_us, cold.p99_us
            );
        }
    }
    if let Some(ratio) = cold_sqlite_over_postgres(runs) {
        println!("cold Check p50, SQLite / PostgreSQL: {ratio:.2}x (target ≤ 2x)");
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

fn cold_sqlite_over_postgres(runs: &[Run]) -> Option<f64> {
    let cold = |backend: Backend| {
        runs.iter()
            .find(|run| run.backend == backend)
            .and_then(|run| find(run, COLD, 1))
    };
    Some(cold(Backend::Sqlite)?.p50_us / cold(Backend::Postgres)?.p50_us)
}

fn hit_ratios_json(lookups: lms_authorization::CacheLookups) -> Value {
    match hit_ratios(lookups) {
        Some([local, redis, miss]) => json!({
            "local_pct": local, "redis_pct": redis, "miss_pct": miss,
            "lookups": lookups.local + lookups.redis + lookups.miss,
        }),
        None => Value::Null,
    }
}

/// Everything printed, as JSON: one entry per case with its backend and hit ratios, and the
/// ratios per backend.
pub fn json(args: &Args, runs: &[Run]) -> Value {
    let cases: Vec<Value> = runs
        .iter()
        .flat_map(|run| {
            run.outcomes.iter().map(|o| {
                json!({
                    "backend": run.backend.name(),
                    "case": o.name, "in_flight": o.in_flight, "calls": o.calls,
                    "p50_us": o.p50_us, "p99_us": o.p99_us, "calls_per_second": o.per_second,
                    "hit_ratios": hit_ratios_json(o.lookups),
                })
            })
        })
        .collect();
    let backends: Vec<Value> = runs
        .iter()
        .map(|run| {
            let to_echo = |case: &str| match ratios(run, case) {
                Some(r) => json!({
                    "p50_at_1": r.p50_at_1,
                    "throughput_at_16": r.throughput_at_16,
                    "p99_at_16": r.p99_at_16,
                }),
                None => Value::Null,
            };
            json!({
                "backend": run.backend.name(),
                "describe": run.backend.describe(),
                "broad_warm_up": run.warm_up.as_ref().map(|w| json!({
                    "checks": w.questions,
                    "seconds": w.took.as_secs_f64(),
                    "hit_ratios": hit_ratios_json(w.lookups),
                    "by_asker": Asker::ALL.iter().map(|&kind| json!({
                        "asker": kind.name(),
                        "checks": w.spread.asked[kind as usize],
                        "allowed": w.spread.allowed[kind as usize],
                    })).collect::<Vec<_>>(),
                })),
                "warm_to_echo": to_echo(WARM),
                "broad_to_echo": to_echo(BROAD),
            })
        })
        .collect();
    json!({
        "users": args.users,
        "seconds_per_case": args.seconds,
        "broad_pairs": args.pairs,
        "backends": backends,
        "cold_p50_sqlite_over_postgres": cold_sqlite_over_postgres(runs),
        "cases": cases,
    })
}
