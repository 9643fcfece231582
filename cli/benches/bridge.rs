//! One scrape of `expvar export` bridging 20 targets of 1,000 variables each, from
//! documents in memory (no network): parsing the JSON and rendering the fleet as
//! Prometheus text, and rendering alone. Before the timings, the bytes allocated by one
//! scrape are printed (counted by expvar's own `CountingAlloc`).
//!
//! `cargo bench -p expvar-cli --bench bridge`. Half the targets are Go-shaped
//! (`memstats` with its 256-slot pause rings), half shaped like this project's
//! documents (`process`, `functions`, a histogram).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use expvar::{prometheus::PrometheusOptions, stats::AllocStats};
use expvar_cli::bridge::{render, Source};
use expvar_cli::fetch::parse;
use expvar_cli::limits::Limits;
use serde_json::{json, Value};

#[global_allocator]
static ALLOC: expvar::CountingAlloc = expvar::CountingAlloc::new();

const TARGETS: usize = 20;
const VARIABLES: usize = 1_000;

fn memstats(seed: u64) -> Value {
    let ring: Vec<u64> = (0..256)
        .map(|i| 10_000 + (i * 37 + seed) % 90_000)
        .collect();
    json!({
        "Alloc": 1_000_000 + seed, "TotalAlloc": 50_000_000 + seed, "Sys": 20_000_000,
        "Lookups": 0, "Mallocs": 900_000 + seed, "Frees": 800_000, "HeapAlloc": 1_000_000 + seed,
        "HeapSys": 8_000_000, "HeapIdle": 6_000_000, "HeapInuse": 2_000_000, "HeapReleased": 5_000_000,
        "HeapObjects": 100_000, "StackInuse": 500_000, "StackSys": 500_000, "MSpanInuse": 80_000,
        "MSpanSys": 96_000, "MCacheInuse": 9_600, "MCacheSys": 15_600, "BuckHashSys": 4_000,
        "GCSys": 2_000_000, "OtherSys": 1_000_000, "NextGC": 4_000_000,
        "LastGC": 1_700_000_000_000_000_000u64, "PauseTotalNs": 12_000_000, "PauseNs": ring,
        "PauseEnd": vec![0; 256], "NumGC": 300, "NumForcedGC": 0, "GCCPUFraction": 0.0001,
        "EnableGC": true, "DebugGC": false, "BySize": []
    })
}

/// One target's document: 1,000 variables besides memstats.
fn document(target: usize) -> Value {
    let mut vars = serde_json::Map::new();
    for i in 0..VARIABLES - 4 {
        vars.insert(format!("counter_{i:05}"), json!(i * target));
    }
    vars.insert(
        "api_stats".into(),
        json!({"success": 5, "fail": 2, "retry": 1}),
    );
    vars.insert("ratio".into(), json!(0.25));
    vars.insert("version".into(), json!("1.2.3"));
    vars.insert("memstats".into(), memstats(target as u64));
    if target % 2 == 1 {
        vars.insert(
            "process".into(),
            json!({"pid": 100 + target, "uptime_seconds": 12.5, "cpu_seconds": 3.2,
                   "resident_memory_bytes": 9_000_000, "os": "linux", "threads": 4}),
        );
        vars.insert(
            "functions".into(),
            json!({"app::get_user": {"calls": 100, "errors": 3, "in_flight": 1,
                   "duration": {"count": 99, "sum": 0.5, "min": 0.001, "max": 0.02,
                                "mean": 0.005, "p50": 0.004, "p90": 0.01, "p99": 0.02}}}),
        );
    } else {
        vars.insert(
            "cmdline".into(),
            json!(["/usr/bin/server", "-addr", ":6060"]),
        );
    }
    Value::Object(vars)
}

fn sources(docs: &[Value]) -> Vec<Source> {
    docs.iter()
        .enumerate()
        .map(|(index, doc)| Source {
            name: format!("10.0.0.{index}:6060"),
            labels: Vec::new(),
            doc: Some(doc.clone()),
            duration: Duration::from_millis(2),
            over_limit: None,
        })
        .collect()
}

fn parse_and_render(bodies: &[Vec<u8>], options: &PrometheusOptions) -> String {
    let docs: Vec<Value> = bodies
        .iter()
        // As the bridge parses: the values counted against the limit first.
        .map(|body| parse(body, Limits::default()).expect("valid JSON"))
        .collect();
    let sources = docs
        .into_iter()
        .enumerate()
        .map(|(index, doc)| Source {
            name: format!("10.0.0.{index}:6060"),
            labels: Vec::new(),
            doc: Some(doc),
            duration: Duration::from_millis(2),
            over_limit: None,
        })
        .collect();
    render(sources, options)
}

fn bridge(c: &mut Criterion) {
    let docs: Vec<Value> = (0..TARGETS).map(document).collect();
    let bodies: Vec<Vec<u8>> = docs
        .iter()
        .map(|doc| serde_json::to_vec(doc).unwrap())
        .collect();
    let options = PrometheusOptions::new();

    let before = AllocStats::read().expect("CountingAlloc is the global allocator");
    let text = parse_and_render(&bodies, &options);
    let after = AllocStats::read().unwrap();
    let series = text.lines().filter(|line| !line.starts_with('#')).count();
    let figures = json!({
        "json_kb": bodies.iter().map(Vec::len).sum::<usize>() / 1000,
        "series": series,
        "text_kb": text.len() / 1000,
        "mb_allocated": (after.total_bytes - before.total_bytes) as f64 / 1e6,
        "allocations": after.mallocs - before.mallocs,
    });
    eprintln!("one scrape of {TARGETS} targets: {figures}");
    // For scripts/bench-report, beside criterion's results.
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    if std::fs::create_dir_all(&results).is_ok() {
        let _ = std::fs::write(results.join("fleet-scrape.json"), figures.to_string());
    }
    drop(text);

    let mut group = c.benchmark_group("bridge");
    group.throughput(Throughput::Elements((TARGETS * VARIABLES) as u64));
    group.bench_function("parse_and_render_20x1000", |b| {
        b.iter(|| black_box(parse_and_render(black_box(&bodies), &options)));
    });
    group.bench_function("render_20x1000", |b| {
        b.iter_batched(
            || sources(&docs),
            |sources| black_box(render(sources, &options)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bridge);
criterion_main!(benches);
