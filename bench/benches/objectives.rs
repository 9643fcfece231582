//! What an objective costs a call: nothing. `#[counted]` and `#[timed]` with and without
//! an objective, side by side in one run; the objective reads the counts the function
//! keeps anyway, at the sampler's cadence, so the two rows of each pair should match.
//!
//! `cargo bench --bench objectives`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

#[derive(Debug)]
struct Failed;

#[expvar::counted]
#[inline(never)]
fn counted(fail: bool) -> Result<(), Failed> {
    if black_box(fail) {
        Err(Failed)
    } else {
        Ok(())
    }
}

#[expvar::counted(objective = "99.9%")]
#[inline(never)]
fn counted_with_objective(fail: bool) -> Result<(), Failed> {
    if black_box(fail) {
        Err(Failed)
    } else {
        Ok(())
    }
}

#[expvar::timed]
#[inline(never)]
fn timed(fail: bool) -> Result<(), Failed> {
    if black_box(fail) {
        Err(Failed)
    } else {
        Ok(())
    }
}

#[expvar::timed(objective = "99.9%", objective = "99% < 250ms")]
#[inline(never)]
fn timed_with_objectives(fail: bool) -> Result<(), Failed> {
    if black_box(fail) {
        Err(Failed)
    } else {
        Ok(())
    }
}

fn hot_path(c: &mut Criterion) {
    // The objectives exist and their sampler runs, as in a served process.
    assert!(expvar::to_json().contains("counted_with_objective"));
    let mut group = c.benchmark_group("objective_hot_path");
    group.bench_function("counted", |b| b.iter(|| counted(false)));
    group.bench_function("counted_with_objective", |b| {
        b.iter(|| counted_with_objective(false))
    });
    group.bench_function("timed", |b| b.iter(|| timed(false)));
    group.bench_function("timed_with_objectives", |b| {
        b.iter(|| timed_with_objectives(false))
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    // What a scrape pays for the two objectives above: their live counts (one pass over
    // a histogram's buckets for latency) and the sampler's last figures.
    let objectives = expvar::get("objectives").unwrap();
    c.bench_function("objective_render_json", |b| {
        b.iter(|| expvar::render_json(&*objectives))
    });
}

criterion_group!(benches, hot_path, render);
criterion_main!(benches);
