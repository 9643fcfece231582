//! The fleet as one registry: every target's document under one variable whose map
//! entries carry `target="host:port"`, and each target's health beside it. Rendered by
//! the runtime's Prometheus/OpenMetrics encoder, like any registry, and served by the
//! runtime's server (see [`export`](crate::export)).

use std::sync::Arc;
use std::time::Duration;

use expvar::{prometheus::PrometheusOptions, vars::Unit, Registry, Var, Writer};
use serde_json::Value;

use crate::document::Document;
use crate::limits::Over;

/// One target's part of a scrape.
pub struct Source {
    /// The `target` label: `host:port`, or the URL when several targets share one.
    pub name: String,
    /// Labels from the targets file.
    pub labels: Vec<(String, String)>,
    /// The document, or `None` when the target could not be read.
    pub doc: Option<Value>,
    /// How long reading it took.
    pub duration: Duration,
    /// The limit the document went over, if it was refused for its size.
    pub over_limit: Option<Over>,
}

/// Where the variables of the fleet find the targets' documents: a list of one scrape,
/// or the exporter's latest round of reads.
pub trait Sources: Send + Sync + 'static {
    /// The documents to write now.
    fn sources(&self) -> Arc<Vec<Source>>;
}

impl Sources for Arc<Vec<Source>> {
    fn sources(&self) -> Arc<Vec<Source>> {
        Arc::clone(self)
    }
}

/// Every target's document, each under `target="host:port"`.
struct Fleet<S>(Arc<S>);

impl<S: Sources> Var for Fleet<S> {
    fn write(&self, out: Writer<'_>) {
        let sources = self.0.sources();
        out.metric_name("").map("target", |targets| {
            for source in sources.iter() {
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

/// `expvar_target_up` and `expvar_target_scrape_duration_seconds` per target, and
/// `expvar_target_over_limit{limit}` for a document refused for its size.
struct Health<S>(Arc<S>);

impl<S: Sources> Var for Health<S> {
    fn write(&self, out: Writer<'_>) {
        let sources = self.0.sources();
        out.metric_name("expvar_target").map("target", |targets| {
            for source in sources.iter() {
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
                    if let Some(over) = source.over_limit {
                        fields
                            .field("over_limit")
                            .help("1 when the target's document was refused for its size (--max-bytes, --max-values).")
                            .map("limit", |limits| limits.entry(over.name()).gauge(1));
                    }
                });
            }
        });
    }
}

/// Publishes the fleet's variables in a new `registry`: `expvar_target` (each
/// target's health) and `targets` (their documents), both written from `sources`.
pub fn publish(registry: &Registry, sources: Arc<impl Sources>) {
    registry
        .publish("expvar_target", Arc::new(Health(Arc::clone(&sources))))
        .expect("a new registry has no variables");
    registry
        .publish("targets", Arc::new(Fleet(sources)))
        .expect("a new registry has no variables");
}

/// The registry of one scrape.
pub fn registry(sources: Vec<Source>) -> Registry {
    let registry = Registry::new();
    publish(&registry, Arc::new(Arc::new(sources)));
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
///     Source { name: "10.0.0.5:6060".into(), labels: vec![], doc: Some(go),
///              duration: Duration::from_millis(3), over_limit: None },
///     Source { name: "10.0.0.6:6060".into(), labels: vec![], doc: None,
///              duration: Duration::from_secs(5), over_limit: None },
/// ];
/// let text = render(sources, &expvar::prometheus::PrometheusOptions::new());
/// assert!(text.contains("go_memstats_heap_alloc_bytes{target=\"10.0.0.5:6060\"} 2048\n"));
/// assert!(text.contains("expvar_target_up{target=\"10.0.0.6:6060\"} 0\n"));
/// ```
pub fn render(sources: Vec<Source>, options: &PrometheusOptions) -> String {
    registry(sources).to_prometheus_with(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expvar::prometheus::PrometheusFormat;
    use serde_json::json;

    fn source(name: &str, doc: Option<Value>) -> Source {
        Source {
            name: name.into(),
            labels: Vec::new(),
            doc,
            duration: Duration::from_millis(250),
            over_limit: None,
        }
    }

    fn go_doc() -> Value {
        json!({
            "cmdline": ["/srv/app"],
            "api_stats": {"fail": 2, "success": 5},
            "ratio": 0.25,
            "requests_total": 9,
            "version": "1.2.3",
            "memstats": {
                "Alloc": 100, "TotalAlloc": 900, "Sys": 4096, "HeapAlloc": 100, "HeapObjects": 7,
                "Mallocs": 50, "LastGC": 1_500_000_000u64, "PauseTotalNs": 3_000_000,
                "NumGC": 2, "PauseNs": [1_000_000, 2_000_000, 0, 0], "BySize": [{"Size": 8}]
            }
        })
    }

    fn ours_doc() -> Value {
        json!({
            "requests": 12,
            "latency_seconds": {"count": 4, "sum": 0.5, "min": 0.1, "max": 0.2, "mean": 0.125, "p50": 0.1, "p99": 0.2},
            "process": {"pid": 42, "cpu_seconds": 1.5, "resident_memory_bytes": 8192, "os": "linux"},
            "memstats": {"Alloc": 64, "HeapAlloc": 64, "TotalAlloc": 640, "Lookups": 0},
            "functions": {"app::db::fetch": {"calls": 5, "errors": 1, "in_flight": 1,
                "duration": {"count": 4, "sum": 0.4, "min": 0.05, "max": 0.2, "mean": 0.1, "p50": 0.1}}}
        })
    }

    fn text(sources: Vec<Source>) -> String {
        render(sources, &PrometheusOptions::new())
    }

    #[test]
    fn go_documents_get_go_client_names() {
        let text = text(vec![source("go:1", Some(go_doc()))]);
        for line in [
            "go_memstats_heap_alloc_bytes{target=\"go:1\"} 100\n",
            "go_memstats_alloc_bytes_total{target=\"go:1\"} 900\n",
            "go_memstats_sys_bytes{target=\"go:1\"} 4096\n",
            "go_memstats_heap_objects{target=\"go:1\"} 7\n",
            "go_memstats_mallocs_total{target=\"go:1\"} 50\n",
            "go_memstats_last_gc_time_seconds{target=\"go:1\"} 1.5\n",
            "go_gc_duration_seconds_count{target=\"go:1\"} 2\n",
            "go_gc_duration_seconds_sum{target=\"go:1\"} 0.003\n",
            "api_stats{target=\"go:1\",key=\"fail\"} 2\n",
            "ratio{target=\"go:1\"} 0.25\n",
            "requests_total{target=\"go:1\"} 9\n",
            "version_info{target=\"go:1\",value=\"1.2.3\"} 1\n",
            "expvar_target_up{target=\"go:1\"} 1\n",
            "expvar_target_scrape_duration_seconds{target=\"go:1\"} 0.25\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(
            text.contains("# TYPE go_memstats_alloc_bytes_total counter\n"),
            "{text}"
        );
        assert!(!text.contains("cmdline"), "{text}");
        assert!(!text.contains("go_memstats_alloc_bytes{"), "{text}");
        assert!(!text.contains("BySize"), "{text}");
    }

    #[test]
    fn our_documents_keep_our_names() {
        let text = text(vec![source("rs:1", Some(ours_doc()))]);
        for line in [
            "memstats_heap_alloc_bytes{target=\"rs:1\"} 64\n",
            "memstats_alloc_bytes_total{target=\"rs:1\"} 640\n",
            "process_cpu_seconds_total{target=\"rs:1\"} 1.5\n",
            "process_resident_memory_bytes{target=\"rs:1\"} 8192\n",
            "process_os_info{target=\"rs:1\",value=\"linux\"} 1\n",
            "requests{target=\"rs:1\"} 12\n",
            "latency_seconds_count{target=\"rs:1\"} 4\n",
            "function_calls_concurrent{target=\"rs:1\",function=\"fetch\",module=\"app::db\"} 1\n",
            "function_calls_total{target=\"rs:1\",function=\"fetch\",module=\"app::db\",result=\"ok\"} 3\n",
            "function_calls_total{target=\"rs:1\",function=\"fetch\",module=\"app::db\",result=\"error\"} 1\n",
            "function_calls_duration_seconds_count{target=\"rs:1\",function=\"fetch\",module=\"app::db\"} 4\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("go_memstats"), "{text}");
    }

    #[test]
    fn targets_share_families_and_down_targets_only_report_down() {
        let mut labelled = source("rs:1", Some(ours_doc()));
        labelled.labels = vec![("env".into(), "prod".into())];
        let sources = vec![
            source("go:1", Some(go_doc())),
            labelled,
            source("down:1", None),
        ];
        let text = render(
            sources,
            &PrometheusOptions::new().format(PrometheusFormat::OpenMetrics),
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.matches("# TYPE expvar_target_up gauge\n").count(), 1);
        assert!(
            text.contains("expvar_target_up{target=\"down:1\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("process_cpu_seconds_total{target=\"rs:1\",env=\"prod\"} 1.5\n"),
            "{text}"
        );
        assert_eq!(text.matches("target=\"down:1\"").count(), 2, "{text}");
    }

    #[test]
    fn a_refused_document_is_down_with_the_limit_it_went_over() {
        let mut refused = source("big:1", None);
        refused.over_limit = Some(Over::Values(50_000));
        let text = text(vec![refused, source("go:1", Some(go_doc()))]);
        assert!(
            text.contains("expvar_target_up{target=\"big:1\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("expvar_target_over_limit{target=\"big:1\",limit=\"values\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("over_limit{target=\"go:1\""), "{text}");
    }
}
