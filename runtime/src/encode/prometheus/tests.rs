//! The Prometheus encoder's unit tests: names, kinds and families from what variables
//! say about themselves. The hostile-document test against real parsers is
//! `tests/test_prometheus_strict.rs`.

use std::sync::Arc;

use super::*;
use crate::encode::render as render_document;
use crate::registry::functions::{FunctionEntry, FunctionInfo, FunctionStats, FUNCTIONS_VAR};
use crate::vars::entry::Site;
use crate::vars::{IntoVarRef, VarRef};
use crate::vars::{Var, Writer};
use crate::Histogram;

static FETCH: FunctionStats = FunctionStats::new();

inventory::submit! {
    FunctionEntry::new(&FETCH, FunctionInfo {
        key: "prom_unit_fetch",
        module: "app::db",
        function: "fetch",
        timed: true,
        fallible: true,
        site: Site { file: file!(), line: line!() },
    })
}

fn render(vars: &[(&str, VarRef)], options: &PrometheusOptions) -> String {
    render_document(vars, text_document(options, vars.len()))
}

fn lines_of(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn functions_use_the_autometrics_names() {
    for fails in [false, true, false] {
        let mut guard = FETCH.enter_timed();
        if fails {
            guard.fail();
        }
    }
    let _running = FETCH.enter();
    let vars = [(FUNCTIONS_VAR, crate::registry::get(FUNCTIONS_VAR).unwrap())];
    let text = render(&vars, &PrometheusOptions::new().namespace("ns"));
    let labels = r#"function="fetch",module="app::db""#;
    assert_eq!(
        lines_of(&text, "function_calls_total"),
        [
            format!(r#"function_calls_total{{{labels},result="ok"}} 2"#),
            format!(r#"function_calls_total{{{labels},result="error"}} 1"#),
        ]
    );
    assert_eq!(
        lines_of(&text, "function_calls_concurrent"),
        [format!("function_calls_concurrent{{{labels}}} 1")]
    );
    assert!(text.contains("# TYPE function_calls_total counter\n"));
    assert!(text.contains("# TYPE function_calls_duration_seconds histogram\n"));
    assert!(text.contains(&format!(
        "function_calls_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3\n"
    )));
    assert!(text.contains(&format!(
        "function_calls_duration_seconds_count{{{labels}}} 3\n"
    )));
}

/// A variable that names itself (as `process` does) keeps its names under a
/// namespace; fields extend the name.
struct Process;

impl Var for Process {
    fn write(&self, out: Writer<'_>) {
        out.metric_name("process").object(|fields| {
            fields.field("resident_memory_bytes").gauge(1 << 20);
            fields.field("cpu_seconds").counter_f64(0.5);
            fields.field("open_fds").gauge(7);
            fields.field("start_time_seconds").float(1.7e9);
        });
    }
}

#[test]
fn a_named_variable_keeps_its_name_under_a_namespace() {
    let vars = [("process", Arc::new(Process).into_var_ref())];
    let text = render(&vars, &PrometheusOptions::new().namespace("ns"));
    assert_eq!(
        text,
        "# HELP process_resident_memory_bytes expvar variable process.resident_memory_bytes\n\
         # TYPE process_resident_memory_bytes gauge\n\
         process_resident_memory_bytes 1048576\n\
         # HELP process_cpu_seconds_total expvar variable process.cpu_seconds\n\
         # TYPE process_cpu_seconds_total counter\n\
         process_cpu_seconds_total 0.5\n\
         # HELP process_open_fds expvar variable process.open_fds\n\
         # TYPE process_open_fds gauge\n\
         process_open_fds 7\n\
         # HELP process_start_time_seconds expvar variable process.start_time_seconds\n\
         # TYPE process_start_time_seconds gauge\n\
         process_start_time_seconds 1700000000.0\n\
         # HELP build_info Build information: always 1, the facts are in the labels.\n\
         # TYPE build_info gauge\n\
         build_info{expvar_version=\"0.1.0\"} 1\n"
    );
}

/// A variable that panics after writing to a family it shares with no one still
/// leaves no partial family behind, and one written before it stays intact.
struct HalfWritten;

impl Var for HalfWritten {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields.field("a").gauge(1);
            panic!("half written");
        });
    }
}

#[test]
fn a_panic_rolls_back_its_families() {
    let gauge = Arc::new(crate::Gauge::new());
    gauge.set(5);
    let vars = [
        ("a", gauge.into_var_ref()),
        ("b", Arc::new(HalfWritten).into_var_ref()),
    ];
    let text = render(&vars, &PrometheusOptions::new());
    assert!(text.starts_with("# HELP a expvar variable a\n# TYPE a gauge\na 5\n# HELP build_info"));
    assert!(!text.contains("b_a"));
}

/// A map of structs: each entry writes to two families, so their samples arrive
/// interleaved and are put together per family.
struct Pool;

impl Var for Pool {
    fn write(&self, out: Writer<'_>) {
        out.map("pool", |pools| {
            for (name, size) in [("a", 1), ("b", 2)] {
                pools.entry(name).object(|fields| {
                    fields.field("size").gauge(size);
                    fields.field("hits").counter(size as u64 * 10);
                });
            }
        });
    }
}

#[test]
fn interleaved_samples_are_grouped_by_family() {
    let vars = [
        ("pools", Arc::new(Pool).into_var_ref()),
        ("z", Arc::new(HalfWritten).into_var_ref()),
    ];
    let text = render(
        &vars,
        &PrometheusOptions::new().format(PrometheusFormat::OpenMetrics),
    );
    assert_eq!(
        text,
        "# HELP pools_size expvar variable pools.size\n\
         # TYPE pools_size gauge\n\
         pools_size{pool=\"a\"} 1\n\
         pools_size{pool=\"b\"} 2\n\
         # HELP pools_hits expvar variable pools.hits\n\
         # TYPE pools_hits counter\n\
         pools_hits_total{pool=\"a\"} 10\n\
         pools_hits_total{pool=\"b\"} 20\n\
         # HELP build_info Build information: always 1, the facts are in the labels.\n\
         # TYPE build_info gauge\n\
         build_info{expvar_version=\"0.1.0\"} 1\n\
         # EOF\n"
    );
}

#[test]
fn kinds_and_names_never_collide() {
    let histogram = Arc::new(Histogram::new());
    histogram.record(1.0);
    let counter = Arc::new(crate::Counter::new());
    let vars = [
        ("x", histogram.into_var_ref()),
        ("x_count", counter.clone().into_var_ref()),
        ("y_total", counter.clone().into_var_ref()),
        ("y", Arc::new(crate::Gauge::new()).into_var_ref()),
    ];
    let text = render(&vars, &PrometheusOptions::new());
    assert_eq!(
        lines_of(&text, "# TYPE"),
        [
            "# TYPE x histogram",
            "# TYPE y_total counter",
            "# TYPE build_info gauge",
        ]
    );
}

fn shared<V: Var + 'static>(var: V) -> VarRef {
    Arc::new(var).into_var_ref()
}

/// Writes a fixed JSON value, as a `Func` would.
struct Json(serde_json::Value);

impl Var for Json {
    fn write(&self, out: Writer<'_>) {
        out.json(&self.0);
    }
}

#[test]
fn a_nul_in_a_name_cannot_make_two_owners_alike() {
    let vars = [
        ("dupe", shared(Json(serde_json::json!({"y": 1})))),
        ("dupe\0y", shared(crate::Gauge::new())),
    ];
    let text = render(&vars, &PrometheusOptions::new());
    assert_eq!(lines_of(&text, "dupe_y"), ["dupe_y 1"]);
}

#[test]
fn created_is_reserved_across_families() {
    let counter = shared(crate::Counter::new());
    let vars = [("c", counter), ("c_created", shared(crate::Gauge::new()))];
    let text = render(
        &vars,
        &PrometheusOptions::new().format(PrometheusFormat::OpenMetrics),
    );
    assert!(text.contains("# TYPE c counter\n"));
    assert!(!text.contains("c_created"), "{text}");
    // The other way round: a gauge first keeps its name, the counter is left out.
    let vars = [
        ("a_created", shared(crate::Gauge::new())),
        ("b", shared(crate::Gauge::new())),
    ];
    let text = render(&vars, &PrometheusOptions::new());
    assert!(text.contains("a_created 0\n"));
}

/// A float counter that is NaN, negative or a growing total.
struct Totals;

impl Var for Totals {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields.field("nan").counter_f64(f64::NAN);
            fields.field("negative").counter_f64(-1.0);
            fields.field("fine").counter_f64(2.5);
        });
    }
}

#[test]
fn nan_and_negative_counters_are_left_out() {
    let before = crate::registry::render_failures();
    for format in [PrometheusFormat::Text, PrometheusFormat::OpenMetrics] {
        let text = render(
            &[("totals", shared(Totals))],
            &PrometheusOptions::new().format(format),
        );
        assert!(!text.contains("totals_nan"), "{text}");
        assert!(!text.contains("totals_negative"), "{text}");
        assert!(text.contains("totals_fine_total 2.5\n"), "{text}");
    }
    assert!(crate::registry::render_failures() >= before + 4);
}

#[test]
fn reserved_constant_labels_are_refused() {
    for label in RESERVED_LABELS {
        let options = PrometheusOptions::new().const_label(label, "x");
        assert_eq!(options.validate().unwrap_err().label(), *label);
        let text = render(&[("g", shared(crate::Gauge::new()))], &options);
        assert!(!text.contains("=\"x\""), "{label}: {text}");
    }
    // A map whose label is a constant label's keeps its family, never serving a label
    // twice: its own is written as `exported_<label>`, as Prometheus renames a clash.
    let map = crate::Map::<crate::Counter>::with_label("service");
    map.inc("a");
    let options = PrometheusOptions::new().const_label("service", "api");
    let vars = [("m", shared(map))];
    let text = render(&vars, &options);
    assert!(
        text.contains("m_total{service=\"api\",exported_service=\"a\"} 1\n"),
        "{text}"
    );
    assert_eq!(
        super::const_label_conflict(&options, &vars),
        Some(("m".to_owned(), "service".to_owned()))
    );
    let unrelated = PrometheusOptions::new().const_label("zone", "z");
    assert_eq!(super::const_label_conflict(&unrelated, &vars), None);
}

/// Results by outcome, written as one family with a label per field, plus a value
/// for the JSON only.
struct Results;

impl Var for Results {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields.field("note").json_only().str("not a metric");
            for (result, count) in [("ok", 3), ("failed", 1)] {
                fields
                    .field(result)
                    .metrics_only()
                    .metric_name("jobs")
                    .help("Jobs by result.")
                    .labels(&[("result", result)])
                    .counter(count);
            }
            fields
                .field("wait")
                .unit(crate::vars::Unit::Seconds)
                .float(0.5);
        });
    }
}

#[test]
fn metadata_names_labels_units_and_views() {
    let options = PrometheusOptions::new()
        .namespace("ns")
        .format(PrometheusFormat::OpenMetrics);
    let text = render(&[("results", shared(Results))], &options);
    assert_eq!(
        text,
        "# HELP jobs Jobs by result.\n\
         # TYPE jobs counter\n\
         jobs_total{result=\"ok\"} 3\n\
         jobs_total{result=\"failed\"} 1\n\
         # HELP ns_results_wait_seconds expvar variable results.wait\n\
         # TYPE ns_results_wait_seconds gauge\n\
         # UNIT ns_results_wait_seconds seconds\n\
         ns_results_wait_seconds 0.5\n\
         # HELP build_info Build information: always 1, the facts are in the labels.\n\
         # TYPE build_info gauge\n\
         build_info{expvar_version=\"0.1.0\"} 1\n\
         # EOF\n"
    );
    assert_eq!(
        crate::render_json(&Results),
        r#"{"note": "not a metric", "wait": 0.5}"#
    );
}

/// Entries whose own labels replace the map's key, as the function statistics do.
struct ByRoute;

impl Var for ByRoute {
    fn write(&self, out: Writer<'_>) {
        out.map("route", |routes| {
            for (key, route, method) in [("get_a", "/a", "GET"), ("post_a", "/a", "POST")] {
                routes
                    .entry(key)
                    .labels(&[("method", method), ("route", route)])
                    .gauge(1);
            }
        });
    }
}

#[test]
fn an_entry_label_named_like_the_map_replaces_the_key() {
    let text = render(&[("by_route", shared(ByRoute))], &PrometheusOptions::new());
    assert_eq!(
        lines_of(&text, "by_route"),
        [
            r#"by_route{method="GET",route="/a"} 1"#,
            r#"by_route{method="POST",route="/a"} 1"#,
        ]
    );
}

/// A histogram of a user's own, handed over as plain data with bad buckets.
struct BadBuckets;

impl Var for BadBuckets {
    fn write(&self, out: Writer<'_>) {
        out.distribution(&crate::vars::Distribution {
            count: 2,
            sum: 3.0,
            min: 1.0,
            max: 2.0,
            buckets: &[(2.0, 1), (1.0, 2)],
            quantiles: &[],
        });
    }
}

#[test]
fn distributions_with_bad_buckets_are_left_out() {
    let histogram = Histogram::with_buckets(&[1.0, 2.0]);
    histogram.record(1.0);
    histogram.record(f64::INFINITY);
    let vars = [("bad", shared(BadBuckets)), ("good", shared(histogram))];
    let text = render(&vars, &PrometheusOptions::new());
    assert!(!text.contains("bad_"), "{text}");
    assert!(text.contains("good_bucket{le=\"1.0\"} 1\n"), "{text}");
}

/// The same entries written one by one, as a user's own map-like type would.
#[derive(Clone)]
struct OneByOne(Vec<(String, u64)>, &'static str);

impl Var for OneByOne {
    fn write(&self, out: Writer<'_>) {
        out.map(self.1, |entries| {
            for (key, value) in &self.0 {
                entries.entry(key).counter(*value);
            }
        });
    }
}

#[test]
fn a_map_of_counters_renders_as_its_entries_one_by_one() {
    let keys = ["200", "404", "a\"quoted\\key", "line\nbreak", "z"];
    let map: Arc<crate::Map<crate::Counter>> = Arc::new(crate::Map::with_label("status"));
    let nested: Arc<crate::Map<crate::Map<crate::Counter>>> =
        Arc::new(crate::Map::with_labels(&["method", "status"]));
    for (n, key) in keys.iter().enumerate() {
        map.add(key, n as u64 + 1);
        nested.get_or_create("GET").add(key, n as u64 + 10);
    }
    let expected = OneByOne(
        keys.iter()
            .enumerate()
            .map(|(n, key)| (key.to_string(), n as u64 + 1))
            .collect(),
        "status",
    );
    let with_label = PrometheusOptions::new().const_label("region", "eu");
    let openmetrics = PrometheusOptions::new()
        .namespace("ns")
        .format(PrometheusFormat::OpenMetrics);
    for options in [PrometheusOptions::new(), with_label, openmetrics] {
        let fast = render(&[("responses", map.clone().into_var_ref())], &options);
        let slow = render(
            &[("responses", Arc::new(expected.clone()).into_var_ref())],
            &options,
        );
        assert_eq!(fast, slow);
        let prefix = if options.get_format() == PrometheusFormat::OpenMetrics {
            "ns_"
        } else {
            ""
        };
        let lines = lines_of(&fast, &format!("{prefix}responses_total{{"));
        assert_eq!(lines.len(), keys.len(), "{fast}");
        let both = render(&[("by_method", nested.clone().into_var_ref())], &options);
        let lines = lines_of(&both, &format!("{prefix}by_method_total{{"));
        assert_eq!(lines.len(), keys.len(), "{both}");
        assert!(both.contains(r#"method="GET",status="200"} 10"#), "{both}");
    }
}
