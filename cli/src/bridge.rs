//! The fleet as one registry: every target's document under one variable whose map
//! entries carry `target="host:port"`, and each target's health beside it. Rendered by
//! the runtime's Prometheus/OpenMetrics encoder, like any registry.

use std::sync::Arc;
use std::time::Duration;

use expvar::{PrometheusOptions, Registry, Unit, Var, Writer};
use serde_json::Value;

use crate::document::Document;

/// One target's part of a scrape.
pub struct Source {
    /// The `target` label: `host:port`.
    pub name: String,
    /// Labels from the targets file.
    pub labels: Vec<(String, String)>,
    /// The document, or `None` when the target could not be read.
    pub doc: Option<Value>,
    /// How long reading it took.
    pub duration: Duration,
}

/// Every target's document, each under `target="host:port"`.
struct Fleet(Arc<Vec<Source>>);

impl Var for Fleet {
    fn write(&self, out: Writer<'_>) {
        out.metric_name("").map("target", |targets| {
            for source in self.0.iter() {
                if let Some(doc) = &source.doc {
                    let labels: Vec<(&str, &str)> = source
                        .labels
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str()))
                        .collect();
                    targets
                        .entry(&source.name)
                        .labels(&labels)
                        .var(&Document(doc));
                }
            }
        });
    }
}

/// `expvar_target_up` and `expvar_target_scrape_duration_seconds` per target.
struct Health(Arc<Vec<Source>>);

impl Var for Health {
    fn write(&self, out: Writer<'_>) {
        out.metric_name("expvar_target").map("target", |targets| {
            for source in self.0.iter() {
                targets.entry(&source.name).object(|fields| {
                    fields
                        .field("up")
                        .help("1 when the target's /debug/vars was read in this scrape, else 0.")
                        .gauge(i64::from(source.doc.is_some()));
                    fields
                        .field("scrape_duration")
                        .unit(Unit::Seconds)
                        .help("How long reading the target's /debug/vars took.")
                        .float(source.duration.as_secs_f64());
                });
            }
        });
    }
}

/// The registry of one scrape.
pub fn registry(sources: Vec<Source>) -> Registry {
    let sources = Arc::new(sources);
    let registry = Registry::new();
    registry
        .publish("expvar_target", Arc::new(Health(Arc::clone(&sources))))
        .expect("a new registry has no variables");
    registry
        .publish("targets", Arc::new(Fleet(sources)))
        .expect("a new registry has no variables");
    registry
}

/// Renders one scrape of the fleet as `options` say.
///
/// ```
/// use std::time::Duration;
/// use expvar_cli::bridge::{render, Source};
///
/// let go = serde_json::json!({"requests_total": 7, "memstats": {"HeapAlloc": 2048}});
/// let sources = vec![
///     Source { name: "10.0.0.5:6060".into(), labels: vec![], doc: Some(go), duration: Duration::from_millis(3) },
///     Source { name: "10.0.0.6:6060".into(), labels: vec![], doc: None, duration: Duration::from_secs(5) },
/// ];
/// let text = render(sources, &expvar::PrometheusOptions::new());
/// assert!(text.contains("go_memstats_heap_alloc_bytes{target=\"10.0.0.5:6060\"} 2048\n"));
/// assert!(text.contains("expvar_target_up{target=\"10.0.0.6:6060\"} 0\n"));
/// ```
pub fn render(sources: Vec<Source>, options: &PrometheusOptions) -> String {
    registry(sources).to_prometheus_with(options)
}
