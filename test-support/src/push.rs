//! What the pushers' tests share: a registry of known values, and the pusher's own
//! figures as the registry's JSON gives them.

use std::sync::Arc;

use expvar::{Counter, Gauge, Histogram, Map, Registry};
use serde_json::Value;

/// A counter `jobs` (7), a gauge `depth` (-3), a map of counters `results` labelled
/// `result` (ok 5, failed 2) and a histogram `latency_seconds` with bounds 0.1 and 1
/// holding 0.05, 0.5, 0.7 and 3.
pub fn known_values() -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    let jobs = Arc::new(Counter::new());
    jobs.add(7);
    registry.publish("jobs", jobs).unwrap();
    let depth = Arc::new(Gauge::new());
    depth.set(-3);
    registry.publish("depth", depth).unwrap();
    let results: Arc<Map<Counter>> = Arc::new(Map::with_label("result"));
    results.add("ok", 5);
    results.add("failed", 2);
    registry.publish("results", results).unwrap();
    let latency = Arc::new(Histogram::with_buckets(&[0.1, 1.0]));
    for value in [0.05, 0.5, 0.7, 3.0] {
        latency.record(value);
    }
    registry.publish("latency_seconds", latency).unwrap();
    registry
}

/// The pusher's own figure `field` for `protocol` (`remote_write`, `otlp`), from the
/// registry's JSON.
pub fn own_figure(registry: &Registry, protocol: &str, field: &str) -> f64 {
    let json: Value = serde_json::from_str(&registry.to_json()).unwrap();
    json["expvar_push"][protocol][field].as_f64().unwrap()
}
