//! `#[counted]` on an `async fn`, on a current-thread and on a multi-thread tokio
//! runtime, beside a plain `async fn` and the peers recording the same facts (one more
//! call, one more call in flight until it returns) inside an `async fn`.
//!
//! `cargo bench -p expvar-bench --bench async_counted`. Each row awaits one call of its
//! `async fn` per iteration, in a loop inside one task: on the current-thread runtime
//! the loop runs on the bench's thread, on the multi-thread runtime on a worker.

#[path = "peers/newer_peers.rs"]
#[allow(dead_code)] // the async rows use the same-facts metrics only
mod newer_peers;
#[path = "peers/same_facts.rs"]
#[allow(dead_code)] // `metrics` needs a recorder, `autometrics` records a duration too
mod same_facts;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[inline(never)]
async fn plain_async_fn() {
    black_box(());
}

#[expvar::counted(name = "bench_counted_async_fn")]
#[inline(never)]
async fn expvar_counted_async_fn() {
    black_box(());
}

/// A loop of `iters` awaited calls, timed inside its task.
type Row = fn(u64) -> Pin<Box<dyn Future<Output = Duration> + Send>>;

macro_rules! row {
    ($call:expr) => {
        (|iters: u64| {
            Box::pin(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    $call.await;
                }
                start.elapsed()
            }) as Pin<Box<dyn Future<Output = Duration> + Send>>
        }) as Row
    };
}

macro_rules! same_facts_row {
    ($peer:path) => {
        row!(async {
            $peer();
        })
    };
}

const ROWS: [(&str, Row); 7] = [
    ("plain_async_fn", row!(plain_async_fn())),
    ("expvar_counted_async_fn", row!(expvar_counted_async_fn())),
    (
        "prometheus_calls_in_flight",
        same_facts_row!(same_facts::prometheus),
    ),
    (
        "prometheus_client_calls_in_flight",
        same_facts_row!(same_facts::prometheus_client),
    ),
    (
        "measured_calls_in_flight",
        same_facts_row!(same_facts::measured),
    ),
    (
        "fastmetrics_calls_in_flight",
        same_facts_row!(same_facts::fastmetrics),
    ),
    (
        "metered_calls_in_flight",
        same_facts_row!(same_facts::metered),
    ),
];

fn flavours(c: &mut Criterion) {
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for (flavour, runtime) in [("current_thread", &current), ("multi_thread", &multi)] {
        let mut group = c.benchmark_group(format!("async/{flavour}"));
        for (name, row) in ROWS {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| match flavour {
                    "current_thread" => runtime.block_on(row(iters)),
                    _ => runtime.block_on(runtime.spawn(row(iters))).unwrap(),
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, flavours);
criterion_main!(benches);
