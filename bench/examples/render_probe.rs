//! The `render_10k_series` bench's expvar document, rendered a given number of times
//! after one warm-up: for instruction counts under callgrind.
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/render_probe text 10
//! target/release/examples/render_probe json 1000 0   # the built-in variables alone
//! ```
use std::hint::black_box;
use std::sync::Arc;

use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use expvar::{Counter, Map};

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "text".into());
    let times: usize = args.next().map_or(10, |n| n.parse().unwrap());
    let families: usize = args.next().map_or(100, |n| n.parse().unwrap());
    for family in 0..families {
        let map = Arc::new(Map::<Counter>::with_label("key"));
        for series in 0..100 {
            map.add(&format!("k{series:03}"), (family * 100 + series) as u64);
        }
        expvar::publish(format!("bench_family_{family:03}"), map).unwrap();
    }
    let openmetrics = PrometheusOptions::default().format(PrometheusFormat::OpenMetrics);
    let render = || match what.as_str() {
        "json" => black_box(expvar::to_json()).len(),
        "openmetrics" => black_box(expvar::prometheus::to_prometheus_with(&openmetrics)).len(),
        _ => black_box(expvar::to_prometheus()).len(),
    };
    let size = render();
    let started = std::time::Instant::now();
    for _ in 0..times {
        black_box(render());
    }
    let each = started.elapsed() / times.max(1) as u32;
    eprintln!("{what}: {size} bytes, {each:?} per render");
}
