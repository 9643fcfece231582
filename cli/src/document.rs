//! A fetched `/debug/vars` document as an [`expvar::Var`]: the JSON described through
//! the [`Writer`], so the runtime's own Prometheus encoder renders it.
//!
//! From JSON alone a number's kind is unknown: numbers are gauges, strings info series,
//! objects whose values are all numbers (Go's `expvar.Map`) families labelled `key`,
//! other objects fields (`outer_inner`), and `{count, sum, min, max, pNN}` objects (a
//! histogram's statistics) distributions. The figures with standard names get them:
//! Go's `memstats` the names of Go's Prometheus client (`go_memstats_heap_alloc_bytes`,
//! `go_gc_duration_seconds`), and this project's documents (they have `process` or
//! `functions`) the names its own `/metrics` uses (`memstats_*`, `process_*`,
//! `function_calls_*`).

use expvar::{
    vars::{Distribution, Unit, DEFAULT_LABEL},
    Var, Writer,
};
use serde_json::{Map, Value};

/// A fetched document.
pub struct Document<'a>(pub &'a Value);

impl Var for Document<'_> {
    fn write(&self, out: Writer<'_>) {
        let Value::Object(vars) = self.0 else {
            return value(out, self.0);
        };
        let ours =
            vars.get("process").is_some_and(Value::is_object) || vars.contains_key("functions");
        out.object(|fields| {
            for (name, var) in vars {
                match (name.as_str(), var) {
                    ("memstats", Value::Object(memstats)) if ours => {
                        fields.field(name).var(&MemStats {
                            memstats,
                            table: OURS_MEMSTATS,
                        });
                    }
                    ("memstats", Value::Object(memstats)) => {
                        fields.field(name).var(&MemStats {
                            memstats,
                            table: GO_MEMSTATS,
                        });
                    }
                    ("process", Value::Object(process)) if ours => {
                        fields.field(name).var(&Process(process));
                    }
                    ("functions", Value::Object(functions)) if ours => {
                        fields.field(name).var(&Functions(functions));
                    }
                    _ if has_metric(var) => field(fields.field(name), name, var),
                    _ => {}
                }
            }
        });
    }
}

/// Whether `value` holds anything a metric can show (arrays and nulls do not).
fn has_metric(value: &Value) -> bool {
    match value {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => true,
        Value::Object(fields) => fields.values().any(has_metric),
        Value::Array(_) | Value::Null => false,
    }
}

fn number(out: Writer<'_>, number: &serde_json::Number) {
    match number.as_i64() {
        Some(integer) => out.gauge(integer),
        None => out.float(number.as_f64().unwrap_or(f64::NAN)),
    }
}

/// The value of the field `name`: as [`value`], except that a non-negative number named
/// `*_total` is a counter, as the name says (Prometheus reserves the suffix for them).
fn field(out: Writer<'_>, name: &str, json: &Value) {
    match json {
        Value::Number(n) if name.ends_with("_total") => match (n.as_u64(), n.as_f64()) {
            (Some(count), _) => out.counter(count),
            (None, Some(total)) if total >= 0.0 => out.counter_f64(total),
            _ => number(out, n),
        },
        _ => value(out, json),
    }
}

/// Any value: see the module's description.
fn value(out: Writer<'_>, json: &Value) {
    match json {
        Value::Number(n) => number(out, n),
        Value::String(text) => out.str(text),
        Value::Bool(flag) => out.bool(*flag),
        Value::Object(fields) => {
            if let Some(statistics) = Statistics::of(fields) {
                statistics.write(out);
            } else if fields.values().all(Value::is_number) && !fields.is_empty() {
                out.map(DEFAULT_LABEL, |entries| {
                    for (key, entry) in fields {
                        value(entries.entry(key), entry);
                    }
                });
            } else {
                out.object(|out_fields| {
                    for (name, json) in fields.iter().filter(|(_, json)| has_metric(json)) {
                        field(out_fields.field(name), name, json);
                    }
                });
            }
        }
        Value::Array(_) | Value::Null => out.json_only().null(),
    }
}

/// A histogram's statistics as `/debug/vars` shows them: `count`, `sum`, `min`, `max`,
/// `mean` and quantiles `p50`, `p999`...
struct Statistics {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    quantiles: Vec<(f64, f64)>,
}

impl Statistics {
    fn of(fields: &Map<String, Value>) -> Option<Statistics> {
        let get = |name| fields.get(name).and_then(Value::as_f64);
        let mut statistics = Statistics {
            count: fields.get("count")?.as_u64()?,
            sum: get("sum")?,
            min: get("min").unwrap_or(0.0),
            max: get("max").unwrap_or(0.0),
            quantiles: Vec::new(),
        };
        for (name, field) in fields {
            if matches!(name.as_str(), "count" | "sum" | "min" | "max" | "mean") {
                continue;
            }
            let digits = name.strip_prefix('p').filter(|digits| {
                !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
            })?;
            let q = if digits == "100" {
                1.0
            } else {
                format!("0.{digits}").parse().ok()?
            };
            statistics.quantiles.push((q, field.as_f64()?));
        }
        Some(statistics)
    }

    fn write(&self, out: Writer<'_>) {
        out.distribution(&Distribution {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            // JSON has no buckets: the distribution's `+Inf` bucket, count and sum.
            buckets: &[],
            quantiles: &self.quantiles,
        });
    }
}

/// How one `memstats` field is served.
#[derive(Clone, Copy)]
enum Field {
    Gauge(&'static str, Option<Unit>),
    Counter(&'static str),
    /// Nanoseconds since the epoch, served in seconds.
    NanosecondsGauge(&'static str),
}

/// Go's `runtime.MemStats` fields under the names of Go's Prometheus client
/// (`collectors.NewGoCollector`), so Go dashboards work on the bridge. `Alloc` is left
/// out: it equals `HeapAlloc`, and its name `go_memstats_alloc_bytes` would collide with
/// the counter `go_memstats_alloc_bytes_total` in OpenMetrics.
const GO_MEMSTATS: &[(&str, Field)] = &[
    (
        "TotalAlloc",
        Field::Counter("go_memstats_alloc_bytes_total"),
    ),
    (
        "Sys",
        Field::Gauge("go_memstats_sys_bytes", Some(Unit::Bytes)),
    ),
    ("Lookups", Field::Counter("go_memstats_lookups_total")),
    ("Mallocs", Field::Counter("go_memstats_mallocs_total")),
    ("Frees", Field::Counter("go_memstats_frees_total")),
    (
        "HeapAlloc",
        Field::Gauge("go_memstats_heap_alloc_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapSys",
        Field::Gauge("go_memstats_heap_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapIdle",
        Field::Gauge("go_memstats_heap_idle_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapInuse",
        Field::Gauge("go_memstats_heap_inuse_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapReleased",
        Field::Gauge("go_memstats_heap_released_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapObjects",
        Field::Gauge("go_memstats_heap_objects", None),
    ),
    (
        "StackInuse",
        Field::Gauge("go_memstats_stack_inuse_bytes", Some(Unit::Bytes)),
    ),
    (
        "StackSys",
        Field::Gauge("go_memstats_stack_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "MSpanInuse",
        Field::Gauge("go_memstats_mspan_inuse_bytes", Some(Unit::Bytes)),
    ),
    (
        "MSpanSys",
        Field::Gauge("go_memstats_mspan_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "MCacheInuse",
        Field::Gauge("go_memstats_mcache_inuse_bytes", Some(Unit::Bytes)),
    ),
    (
        "MCacheSys",
        Field::Gauge("go_memstats_mcache_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "BuckHashSys",
        Field::Gauge("go_memstats_buck_hash_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "GCSys",
        Field::Gauge("go_memstats_gc_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "OtherSys",
        Field::Gauge("go_memstats_other_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "NextGC",
        Field::Gauge("go_memstats_next_gc_bytes", Some(Unit::Bytes)),
    ),
    (
        "LastGC",
        Field::NanosecondsGauge("go_memstats_last_gc_time_seconds"),
    ),
    (
        "GCCPUFraction",
        Field::Gauge("go_memstats_gc_cpu_fraction", None),
    ),
];

/// The `memstats` fields of this project's documents, named as its `/metrics` names
/// them (Go's names without `go_`); the rest are zero in Rust and not served there.
const OURS_MEMSTATS: &[(&str, Field)] = &[
    ("TotalAlloc", Field::Counter("memstats_alloc_bytes_total")),
    ("Sys", Field::Gauge("memstats_sys_bytes", Some(Unit::Bytes))),
    ("Mallocs", Field::Counter("memstats_mallocs_total")),
    ("Frees", Field::Counter("memstats_frees_total")),
    (
        "HeapAlloc",
        Field::Gauge("memstats_heap_alloc_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapSys",
        Field::Gauge("memstats_heap_sys_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapIdle",
        Field::Gauge("memstats_heap_idle_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapInuse",
        Field::Gauge("memstats_heap_inuse_bytes", Some(Unit::Bytes)),
    ),
    (
        "HeapReleased",
        Field::Gauge("memstats_heap_released_bytes", Some(Unit::Bytes)),
    ),
    ("HeapObjects", Field::Gauge("memstats_heap_objects", None)),
];

struct MemStats<'a> {
    memstats: &'a Map<String, Value>,
    table: &'static [(&'static str, Field)],
}

impl Var for MemStats<'_> {
    fn write(&self, out: Writer<'_>) {
        let memstats = self.memstats;
        out.metric_name("").object(|fields| {
            for &(name, field) in self.table {
                let Some(figure) = memstats.get(name).and_then(Value::as_f64) else {
                    continue;
                };
                let out = fields.field(name);
                match field {
                    Field::Gauge(metric, unit) => {
                        let out = out.metric_name(metric);
                        let out = match unit {
                            Some(unit) => out.unit(unit),
                            None => out,
                        };
                        number(out, memstats[name].as_number().expect("a number"));
                    }
                    Field::Counter(metric) => match memstats[name].as_u64() {
                        Some(count) => out.metric_name(metric).counter(count),
                        None => out.metric_name(metric).counter_f64(figure),
                    },
                    Field::NanosecondsGauge(metric) => out
                        .metric_name(metric)
                        .unit(Unit::Seconds)
                        .float(figure / 1e9),
                }
            }
            if std::ptr::eq(self.table, GO_MEMSTATS) {
                if let Some(pauses) = gc_pauses(memstats) {
                    fields
                        .field("PauseNs")
                        .metric_name("go_gc_duration")
                        .unit(Unit::Seconds)
                        .help("Pause durations of the garbage collector, in seconds.")
                        .var(&pauses);
                }
            }
        });
    }
}

/// `go_gc_duration_seconds` from what Go's expvar has: `NumGC` collections whose
/// pauses total `PauseTotalNs`. The `PauseNs` ring holds only the last 256 pauses, so
/// no buckets can be made that agree with the count: the histogram has its `+Inf`
/// bucket, `_count` and `_sum`, what rate-of-pause-time queries use.
fn gc_pauses(memstats: &Map<String, Value>) -> Option<Statistics> {
    Some(Statistics {
        count: memstats.get("NumGC")?.as_u64()?,
        sum: memstats.get("PauseTotalNs")?.as_f64()? / 1e9,
        min: 0.0,
        max: 0.0,
        quantiles: Vec::new(),
    })
}

impl Var for Statistics {
    fn write(&self, out: Writer<'_>) {
        Statistics::write(self, out);
    }
}

/// This project's `process` object, with the names its `/metrics` uses.
struct Process<'a>(&'a Map<String, Value>);

impl Var for Process<'_> {
    fn write(&self, out: Writer<'_>) {
        out.metric_name("process").object(|fields| {
            for (name, field) in self.0 {
                match (name.as_str(), field) {
                    ("cpu_seconds", Value::Number(seconds)) => fields
                        .field(name)
                        .counter_f64(seconds.as_f64().unwrap_or(f64::NAN)),
                    _ if has_metric(field) => value(fields.field(name), field),
                    _ => {}
                }
            }
        });
    }
}

/// This project's `functions` object, as its `/metrics` shows it:
/// `function_calls_total{function, module, result}`, `function_calls_concurrent` and
/// `function_calls_duration_seconds` (statistics only: JSON has no buckets).
struct Functions<'a>(&'a Map<String, Value>);

impl Var for Functions<'_> {
    fn write(&self, out: Writer<'_>) {
        out.metric_name("").map("function", |entries| {
            for (key, stats) in self.0 {
                let Value::Object(stats) = stats else {
                    continue;
                };
                let (module, function) = key.rsplit_once("::").unwrap_or(("", key));
                let labels = [("function", function), ("module", module)];
                entries.entry(key).labels(&labels).object(|fields| {
                    let get = |name| stats.get(name).and_then(Value::as_u64);
                    let calls = get("calls").unwrap_or(0);
                    let in_flight = get("in_flight").unwrap_or(0);
                    let errors = get("errors").unwrap_or(0);
                    let finished = calls.saturating_sub(in_flight);
                    fields
                        .field("in_flight")
                        .metric_name("function_calls_concurrent")
                        .gauge(i64::try_from(in_flight).unwrap_or(i64::MAX));
                    for (result, count) in
                        [("ok", finished.saturating_sub(errors)), ("error", errors)]
                    {
                        fields
                            .field(result)
                            .metric_name("function_calls_total")
                            .labels(&[("result", result)])
                            .counter(count);
                    }
                    if let Some(duration) = stats
                        .get("duration")
                        .and_then(Value::as_object)
                        .and_then(Statistics::of)
                    {
                        fields
                            .field("duration")
                            .metric_name("function_calls_duration")
                            .unit(Unit::Seconds)
                            .var(&duration);
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statistics_are_recognised_by_their_keys() {
        let Value::Object(fields) = json!({"count": 3, "sum": 1.5, "min": 0.1, "max": 1.0, "mean": 0.5, "p50": 0.4, "p999": 1.0})
        else {
            unreachable!()
        };
        let statistics = Statistics::of(&fields).unwrap();
        assert_eq!((statistics.count, statistics.sum), (3, 1.5));
        assert_eq!(statistics.quantiles, [(0.5, 0.4), (0.999, 1.0)]);
        for other in [
            json!({"count": 3}),
            json!({"count": 3, "sum": 1, "hits": 2}),
        ] {
            let Value::Object(fields) = other else {
                unreachable!()
            };
            assert!(Statistics::of(&fields).is_none());
        }
    }

    #[test]
    fn gc_pauses_are_count_and_total() {
        let Value::Object(memstats) = json!({
            "NumGC": 3, "PauseTotalNs": 6_000_000, "PauseNs": [1_000_000, 3_000_000, 2_000_000, 0]
        }) else {
            unreachable!()
        };
        let pauses = gc_pauses(&memstats).unwrap();
        assert_eq!((pauses.count, pauses.sum), (3, 0.006));
        assert!(gc_pauses(&serde_json::Map::new()).is_none());
    }
}
