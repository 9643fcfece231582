//! A warm scrape allocates nothing but the document it returns: after the first render
//! of a registry, rendering it again as Prometheus text, OpenMetrics or JSON takes one
//! allocation (the output, sized from the last one) whatever the number of series.
//! Without the test harness, so no other test allocates meanwhile.

use std::sync::Arc;

use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use expvar::{stats::AllocStats, Counter, CountingAlloc, Map, Registry};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Allocations made by `render`, called `times` times.
fn allocations(times: usize, render: impl Fn() -> String) -> u64 {
    let before = AllocStats::read().unwrap();
    for _ in 0..times {
        std::hint::black_box(render());
    }
    AllocStats::read().unwrap().mallocs - before.mallocs
}

fn main() {
    // The bench's document: 100 maps of 100 counters, published in a registry of its own.
    let registry = Registry::new();
    for family in 0..100 {
        let map = Arc::new(Map::<Counter>::with_label("key"));
        for series in 0..100 {
            map.add(&format!("k{series:03}"), (family * 100 + series) as u64);
        }
        registry
            .publish(format!("bench_family_{family:03}"), map)
            .unwrap();
    }
    let text = PrometheusOptions::default();
    let openmetrics = PrometheusOptions::default().format(PrometheusFormat::OpenMetrics);
    let renders: [(&str, &dyn Fn() -> String); 3] = [
        ("text", &|| registry.to_prometheus_with(&text)),
        ("OpenMetrics", &|| registry.to_prometheus_with(&openmetrics)),
        ("JSON", &|| registry.to_json()),
    ];
    const TIMES: usize = 30;
    let mut failed = false;
    let mut results = Vec::new();
    for (name, render) in renders {
        // Warm-up: what is kept between scrapes is made, and its tables reach their size.
        allocations(10, render);
        let made = allocations(TIMES, render);
        println!("{name}: {made} allocations in {TIMES} warm renders of 10,000 series");
        failed |= made != TIMES as u64;
        results.push(format!("\"{name}\": {}", made as f64 / TIMES as f64));
    }
    // For `scripts/bench-report`: allocations per warm scrape.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    let json = format!("{{\"series\": 10000, {}}}\n", results.join(", "));
    std::fs::write(dir.join("render-alloc.json"), json).unwrap();
    assert!(!failed, "a warm render allocates more than its output");
}
