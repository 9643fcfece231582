//! `/metrics`: the registry in the Prometheus text format 0.0.4 or OpenMetrics 1.0.
//!
//! Variables write themselves through the same [`Writer`] as for JSON; this encoder
//! turns the stream into metric families. Samples are written straight into the
//! output, a family's `HELP` and `TYPE` just before its first sample. A family whose
//! samples arrive apart (a map of structs feeds one family per field, entry by entry)
//! records each run of its samples, and the document is then put together family by
//! family, so each appears once with one `HELP`, one `TYPE` and its samples together.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use once_cell::sync::Lazy;

mod names;

use crate::registry::functions::{for_each_function, FunctionInfo, FUNCTIONS_VAR};
use crate::registry::{self, VarRef};
use crate::vars::histogram::Histogram;
use crate::vars::Encode;
use crate::vars::{Var, Writer};
use names::{label_name, push_f64, push_help, push_label_value, push_name};

/// The `Content-Type` of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of OpenMetrics 1.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label a [`Str`](crate::Str) value becomes on its `_info` series.
const INFO_LABEL: &str = "value";

/// Top-level variables with standard names (`process_*`, `memstats_*`) that dashboards
/// rely on: the namespace is not prepended to them.
const STANDARD_VARS: &[&str] = &["process", "memstats"];

/// The `memstats` fields served at `/metrics`, with Go's Prometheus client names
/// (`go_memstats_*` without `go_`). The rest are Go's garbage-collector figures, zero
/// in Rust, and are left out; so is `Alloc`, the same as `HeapAlloc`, whose name
/// `memstats_alloc_bytes` would collide with the counter `memstats_alloc_bytes_total`
/// in OpenMetrics.
const MEMSTATS_FIELDS: &[(&str, &str, Kind)] = &[
    ("TotalAlloc", "alloc_bytes_total", Kind::Counter),
    ("Sys", "sys_bytes", Kind::Gauge),
    ("Mallocs", "mallocs_total", Kind::Counter),
    ("Frees", "frees_total", Kind::Counter),
    ("HeapAlloc", "heap_alloc_bytes", Kind::Gauge),
    ("HeapSys", "heap_sys_bytes", Kind::Gauge),
    ("HeapIdle", "heap_idle_bytes", Kind::Gauge),
    ("HeapInuse", "heap_inuse_bytes", Kind::Gauge),
    ("HeapReleased", "heap_released_bytes", Kind::Gauge),
    ("HeapObjects", "heap_objects", Kind::Gauge),
];

/// The two exposition formats served at `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PrometheusFormat {
    /// The Prometheus text format 0.0.4, what every scraper reads.
    #[default]
    Text,
    /// OpenMetrics 1.0: counters typed without `_total`, strings as `info`, `# EOF` last.
    OpenMetrics,
}

impl PrometheusFormat {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PrometheusFormat::Text => TEXT_CONTENT_TYPE,
            PrometheusFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it lists
    /// `application/openmetrics-text` with a non-zero `q`, as Prometheus does, else text.
    ///
    /// ```
    /// use expvar::PrometheusFormat;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    /// assert_eq!(PrometheusFormat::from_accept(prometheus), PrometheusFormat::OpenMetrics);
    /// assert_eq!(PrometheusFormat::from_accept("*/*"), PrometheusFormat::Text);
    /// ```
    pub fn from_accept(accept: &str) -> Self {
        let openmetrics = accept.split(',').any(|range| {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            media.eq_ignore_ascii_case("application/openmetrics-text")
                && !params.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        });
        if openmetrics {
            PrometheusFormat::OpenMetrics
        } else {
            PrometheusFormat::Text
        }
    }
}

/// How [`to_prometheus_with`] and `/metrics` render the registry.
///
/// ```
/// use expvar::{PrometheusFormat, PrometheusOptions};
///
/// static JOBS: expvar::Counter = expvar::Counter::new();
/// expvar::publish("doc_options_jobs", &JOBS).unwrap();
///
/// let options = PrometheusOptions::new()
///     .namespace("myapp")
///     .const_label("service", "api")
///     .format(PrometheusFormat::OpenMetrics);
/// let text = expvar::to_prometheus_with(&options);
/// assert!(text.contains("# TYPE myapp_doc_options_jobs counter\n"));
/// assert!(text.contains("\nmyapp_doc_options_jobs_total{service=\"api\"} 0\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    format: PrometheusFormat,
    namespace: String,
    const_labels: Vec<(String, String)>,
    version: Option<String>,
}

impl PrometheusOptions {
    /// Text format 0.0.4, no namespace, no constant labels.
    pub fn new() -> Self {
        PrometheusOptions::default()
    }

    /// The exposition format.
    pub fn format(mut self, format: PrometheusFormat) -> Self {
        self.format = format;
        self
    }

    /// Prepends `namespace_` to the name of every variable, except the standard
    /// families dashboards look for by name: `function_calls_*`, `build_info`,
    /// `process_*` and `memstats_*`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        let mut sanitised = String::new();
        if !namespace.is_empty() {
            push_name(&mut sanitised, namespace);
        }
        self.namespace = sanitised;
        self
    }

    /// Adds the label `name="value"` to every series, such as `service` or `instance`.
    /// A second label with the same name replaces the first.
    pub fn const_label(mut self, name: &str, value: &str) -> Self {
        let name = label_name(name);
        self.const_labels.retain(|(existing, _)| *existing != name);
        self.const_labels.push((name, value.to_owned()));
        self
    }

    /// The `version` label of `build_info`, typically `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// The format chosen with [`format`](Self::format).
    pub fn get_format(&self) -> PrometheusFormat {
        self.format
    }
}

/// Renders the whole registry in the Prometheus text format 0.0.4, as `/metrics` serves
/// it to a client that does not ask for OpenMetrics.
///
/// ```
/// static HITS: expvar::Counter = expvar::Counter::new();
/// static LATENCY: expvar::Histogram = expvar::Histogram::new();
/// expvar::publish("doc_to_prometheus_hits", &HITS).unwrap();
/// expvar::publish("doc_to_prometheus_latency_seconds", &LATENCY).unwrap();
/// HITS.add(2);
/// LATENCY.record(0.003);
///
/// let text = expvar::to_prometheus();
/// assert!(text.contains("# TYPE doc_to_prometheus_hits_total counter\ndoc_to_prometheus_hits_total 2\n"));
/// assert!(text.contains("doc_to_prometheus_latency_seconds_bucket{le=\"0.00390625\"} 1\n"));
/// assert!(text.contains("doc_to_prometheus_latency_seconds_bucket{le=\"+Inf\"} 1\n"));
/// assert!(text.contains("doc_to_prometheus_latency_seconds_count 1\n"));
/// ```
pub fn to_prometheus() -> String {
    to_prometheus_with(&PrometheusOptions::default())
}

/// Renders the whole registry as `options` say. See [`PrometheusOptions`].
pub fn to_prometheus_with(options: &PrometheusOptions) -> String {
    render_document(&registry::snapshot(), options)
}

pub(crate) fn render_document<N: AsRef<str>>(
    vars: &[(N, VarRef)],
    options: &PrometheusOptions,
) -> String {
    let _one_reading = crate::stats::process::document_scope();
    let mut encoder = PromEncoder::new(options, vars.len());
    for (name, var) in vars {
        let name = name.as_ref();
        match name {
            FUNCTIONS_VAR => encoder.isolated(name, PromEncoder::functions),
            // The command line is a list of strings: no number to serve.
            "cmdline" => {}
            _ => encoder.isolated(name, |encoder| encoder.top_level(name, &**var)),
        }
    }
    encoder.isolated("build_info", PromEncoder::build_info);
    encoder.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    /// A string value: a series of value 1 whose label holds the string.
    Info,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
        }
    }

    /// The sample-name suffixes a family of this kind uses besides its own name.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Counter => &["_total"],
            Kind::Gauge => &[],
            Kind::Histogram => &["_bucket", "_sum", "_count"],
            Kind::Info => &["_info"],
        }
    }
}

#[derive(Clone, Copy)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

struct Family {
    /// The family name: for counters without `_total`, for info without `_info`.
    name: String,
    kind: Kind,
    /// The unsanitised path of the variable that owns the family (`\0`-separated):
    /// two variables whose names sanitise alike do not share a family.
    owner: String,
    /// Where the header and the first run of samples are in the output.
    first: Range<usize>,
    /// Later runs of samples, written after other families' samples.
    more: Vec<Range<usize>>,
}

impl Family {
    fn last_run(&mut self) -> &mut Range<usize> {
        self.more.last_mut().unwrap_or(&mut self.first)
    }
}

/// One open object or map.
struct Frame {
    path_len: usize,
    raw_len: usize,
    labels_len: usize,
    label_names_len: usize,
    /// The label of a map's entries; `None` for an object.
    label: Option<String>,
}

struct PromEncoder<'o> {
    options: &'o PrometheusOptions,
    families: Vec<Family>,
    /// Every metric name in use, sample suffixes included, to the family using it.
    claims: HashMap<String, usize>,
    /// The family written last: map entries hit it without a lookup.
    last: Option<usize>,
    /// The sanitised name of the value being written.
    path: String,
    /// The unsanitised name of the value being written, `\0`-separated.
    raw: String,
    /// Labels of the value being written, rendered `a="x",b="y"`.
    labels: Vec<u8>,
    /// Names of the labels in `labels`.
    label_names: Vec<String>,
    const_labels_len: usize,
    help: Option<String>,
    frames: Vec<Frame>,
    /// While set, values are ignored until the next field or entry at this depth.
    skip_depth: Option<usize>,
    /// The `memstats` field table, while `memstats` is being written.
    field_table: Option<&'static [(&'static str, &'static str, Kind)]>,
    kind_override: Option<Kind>,
    /// The top-level variable being written.
    current: String,
    /// The document: headers and samples, in the order they were written.
    out: Vec<u8>,
}

/// The size of the last document, to allocate the next one at once.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

impl<'o> PromEncoder<'o> {
    fn new(options: &'o PrometheusOptions, vars: usize) -> Self {
        let mut labels = Vec::new();
        let mut label_names = Vec::new();
        for (name, value) in &options.const_labels {
            push_label(&mut labels, name, value);
            label_names.push(name.clone());
        }
        PromEncoder {
            options,
            families: Vec::with_capacity(vars * 2),
            claims: HashMap::with_capacity(vars * 2),
            last: None,
            path: String::new(),
            raw: String::new(),
            const_labels_len: labels.len(),
            labels,
            label_names,
            help: None,
            frames: Vec::new(),
            skip_depth: None,
            field_table: None,
            kind_override: None,
            current: String::new(),
            out: Vec::with_capacity(LAST_SIZE.load(Relaxed) + LAST_SIZE.load(Relaxed) / 8),
        }
    }

    /// Runs `write` for the top-level variable `name`; if it panics, everything it
    /// wrote is removed and the failure recorded, like a `null` in JSON.
    fn isolated(&mut self, name: &str, write: impl FnOnce(&mut Self)) {
        let families_before = self.families.len();
        let start = self.out.len();
        name.clone_into(&mut self.current);
        self.reset();
        let result = catch_unwind(AssertUnwindSafe(|| write(self)));
        if let Err(panic) = result {
            // Everything the variable wrote is at the end of the output.
            self.out.truncate(start);
            self.families.truncate(families_before);
            for family in &mut self.families {
                family.more.retain(|run| run.start < start);
                let run = family.last_run();
                run.end = run.end.min(start);
            }
            self.claims.retain(|_, index| *index < families_before);
            self.last = None;
            let message = crate::encode::json::panic_message(&*panic);
            registry::record_failure(name, &format_args!("panicked: {message}"));
        }
    }

    fn reset(&mut self) {
        self.path.clear();
        self.raw.clear();
        self.labels.truncate(self.const_labels_len);
        self.label_names.truncate(self.options.const_labels.len());
        self.help = None;
        self.frames.clear();
        self.skip_depth = None;
        self.field_table = None;
        self.kind_override = None;
    }

    fn top_level(&mut self, name: &str, var: &dyn Var) {
        if !self.options.namespace.is_empty() && !STANDARD_VARS.contains(&name) {
            self.path.push_str(&self.options.namespace);
            self.path.push('_');
        }
        push_name(&mut self.path, name);
        self.raw.push_str(name);
        if name == "memstats" {
            self.field_table = Some(MEMSTATS_FIELDS);
        }
        var.write(Writer::new(self));
    }

    /// `#[counted]` and `#[timed]` functions, by the names autometrics uses. One pass
    /// per family, so each family's samples are written together.
    fn functions(&mut self) {
        self.set_path(
            "function_calls_total",
            "Calls of instrumented functions that finished, by result.",
        );
        for_each_function(|info, stats| {
            let labels_len = self.function_labels(info);
            // Errors first: a call counts as an error before it counts as finished, so
            // `ok` is never more than the calls that really finished well.
            let errors = stats.errors();
            let finished = stats.finished();
            for (result, count) in [("ok", finished.saturating_sub(errors)), ("error", errors)] {
                push_label(&mut self.labels, "result", result);
                self.scalar(Kind::Counter, Number::U64(count));
                self.labels.truncate(labels_len);
            }
        });
        self.set_path(
            "function_calls_duration_seconds",
            "Durations of calls of timed functions, in seconds.",
        );
        for_each_function(|info, stats| {
            if info.timed {
                self.function_labels(info);
                self.histogram(stats.duration());
            }
        });
        self.set_path(
            "function_calls_concurrent",
            "Calls of instrumented functions in progress.",
        );
        for_each_function(|info, stats| {
            self.function_labels(info);
            self.scalar(Kind::Gauge, Number::U64(stats.in_flight()));
        });
    }

    /// Sets the labels to the constant labels plus `function` and `module`; returns
    /// their length.
    fn function_labels(&mut self, info: &FunctionInfo) -> usize {
        self.labels.truncate(self.const_labels_len);
        push_label(&mut self.labels, "function", info.function);
        push_label(&mut self.labels, "module", info.module);
        self.labels.len()
    }

    fn build_info(&mut self) {
        if let Some(version) = &self.options.version {
            push_label(&mut self.labels, "version", version);
        }
        push_label(
            &mut self.labels,
            "expvar_version",
            env!("CARGO_PKG_VERSION"),
        );
        self.set_path(
            "build_info",
            "Build information: always 1, the facts are in the labels.",
        );
        self.scalar(Kind::Gauge, Number::U64(1));
    }

    /// Names the next value with a standard family name and help text.
    fn set_path(&mut self, name: &str, help: &str) {
        name.clone_into(&mut self.path);
        name.clone_into(&mut self.raw);
        self.help = Some(help.to_owned());
    }

    /// The family for the current path, created if new; `None` (and logged once) when
    /// the name is taken by another variable or by another kind.
    fn family(&mut self, kind: Kind) -> Option<usize> {
        let base = match kind {
            Kind::Counter => self.path.strip_suffix("_total"),
            Kind::Info => self.path.strip_suffix("_info"),
            Kind::Gauge | Kind::Histogram => None,
        }
        .filter(|base| !base.is_empty())
        .unwrap_or(&self.path);
        let found = match self.last {
            Some(index) if self.families[index].name == base => Some(index),
            _ => self.claims.get(base).copied(),
        };
        if let Some(index) = found {
            let family = &mut self.families[index];
            if family.name == base && family.kind == kind && family.owner == self.raw {
                self.last = Some(index);
                return Some(index);
            }
            let reason = if family.owner == self.raw {
                format!("it is a {} and a {}", family.kind.as_str(), kind.as_str())
            } else {
                format!(
                    "the name `{base}` is taken by `{}`",
                    family.owner.replace('\0', ".")
                )
            };
            self.skipped(&reason);
            return None;
        }
        for suffix in kind.suffixes() {
            let name = format!("{base}{suffix}");
            if let Some(&index) = self.claims.get(&name) {
                let owner = self.families[index].owner.replace('\0', ".");
                self.skipped(&format_args!("the name `{name}` is taken by `{owner}`"));
                return None;
            }
        }
        let index = self.families.len();
        let base = base.to_owned();
        for suffix in kind.suffixes() {
            self.claims.insert(format!("{base}{suffix}"), index);
        }
        self.claims.insert(base.clone(), index);
        let start = self.out.len();
        self.write_header(&base, kind);
        self.families.push(Family {
            name: base,
            kind,
            owner: self.raw.clone(),
            first: start..self.out.len(),
            more: Vec::new(),
        });
        self.last = Some(index);
        Some(index)
    }

    /// Writes the `HELP` and `TYPE` lines of a new family.
    fn write_header(&mut self, name: &str, kind: Kind) {
        let openmetrics = self.options.format == PrometheusFormat::OpenMetrics;
        let (suffix, kind) = match (kind, openmetrics) {
            (Kind::Counter, false) => ("_total", "counter"),
            (Kind::Info, false) => ("_info", "gauge"),
            (kind, _) => ("", kind.as_str()),
        };
        let out = &mut self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        match &self.help {
            Some(help) => push_help(out, help, openmetrics),
            None => {
                out.extend_from_slice(b"expvar variable ");
                push_help(out, &self.raw.replace('\0', "."), openmetrics);
            }
        }
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        out.extend_from_slice(kind.as_bytes());
        out.push(b'\n');
    }

    /// Logs once per variable and reason that a value has no place in the output.
    fn skipped(&self, reason: &dyn fmt::Display) {
        static LOGGED: Lazy<Mutex<HashSet<String>>> = Lazy::new(Mutex::default);
        let what = format!("{}: {reason}", self.raw.replace('\0', "."));
        let mut logged = LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
        if logged.insert(what.clone()) {
            log::warn!("expvar: /metrics leaves out {what}");
        }
    }

    fn skip_value(&mut self, reason: &dyn fmt::Display) {
        self.skipped(reason);
        self.skip_depth = Some(self.frames.len());
    }

    /// Writes one sample line of family `index`: its name, `suffix`, the current labels
    /// plus `extra`, and `value`.
    fn sample(&mut self, index: usize, suffix: &str, extra: Option<(&str, &[u8])>, value: Number) {
        let family = &mut self.families[index];
        let body = &mut self.out;
        let start = body.len();
        body.extend_from_slice(family.name.as_bytes());
        body.extend_from_slice(suffix.as_bytes());
        if !self.labels.is_empty() || extra.is_some() {
            body.push(b'{');
            body.extend_from_slice(&self.labels);
            if let Some((name, value)) = extra {
                if !self.labels.is_empty() {
                    body.push(b',');
                }
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(b"=\"");
                body.extend_from_slice(value);
                body.push(b'"');
            }
            body.push(b'}');
        }
        body.push(b' ');
        match value {
            Number::U64(value) => {
                body.extend_from_slice(itoa::Buffer::new().format(value).as_bytes())
            }
            Number::I64(value) => {
                body.extend_from_slice(itoa::Buffer::new().format(value).as_bytes())
            }
            Number::F64(value) => push_f64(body, value),
        }
        body.push(b'\n');
        let run = family.last_run();
        if run.end == start {
            run.end = body.len();
        } else {
            family.more.push(start..body.len());
        }
    }

    fn scalar(&mut self, kind: Kind, value: Number) {
        if self.skip_depth.is_some() {
            return;
        }
        let kind = self.kind_override.unwrap_or(kind);
        if let Some(index) = self.family(kind) {
            self.sample(
                index,
                if kind == Kind::Counter { "_total" } else { "" },
                None,
                value,
            );
        }
    }

    fn string(&mut self, value: &str) {
        if self.skip_depth.is_some() {
            return;
        }
        if self.label_names.iter().any(|name| name == INFO_LABEL) {
            self.skipped(&format_args!(
                "its map label is `{INFO_LABEL}`, the label of a string's value"
            ));
            return;
        }
        if let Some(index) = self.family(Kind::Info) {
            let mut escaped = Vec::with_capacity(value.len());
            push_label_value(&mut escaped, value);
            self.sample(index, "_info", Some((INFO_LABEL, &escaped)), Number::U64(1));
        }
    }

    fn json_value(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => {}
            Value::Bool(value) => self.scalar(Kind::Gauge, Number::U64(u64::from(*value))),
            Value::Number(number) => {
                let number = if let Some(value) = number.as_u64() {
                    Number::U64(value)
                } else if let Some(value) = number.as_i64() {
                    Number::I64(value)
                } else {
                    Number::F64(number.as_f64().unwrap_or(f64::NAN))
                };
                self.scalar(Kind::Gauge, number);
            }
            Value::String(value) => self.string(value),
            Value::Array(_) => {
                if self.skip_depth.is_none() {
                    self.skipped(&"a list has no Prometheus form");
                }
            }
            Value::Object(fields) => {
                let (path_len, raw_len) = (self.path.len(), self.raw.len());
                for (name, value) in fields {
                    self.path.truncate(path_len);
                    self.raw.truncate(raw_len);
                    self.push_segment(name);
                    self.help = None;
                    self.json_value(value);
                }
                self.path.truncate(path_len);
                self.raw.truncate(raw_len);
            }
        }
    }

    fn push_segment(&mut self, name: &str) {
        if !self.path.is_empty() {
            self.path.push('_');
        }
        push_name(&mut self.path, name);
        self.raw.push('\0');
        self.raw.push_str(name);
    }

    fn push_frame(&mut self, label: Option<String>) {
        self.frames.push(Frame {
            path_len: self.path.len(),
            raw_len: self.raw.len(),
            labels_len: self.labels.len(),
            label_names_len: self.label_names.len(),
            label,
        });
    }

    fn pop_frame(&mut self) {
        if let Some(frame) = self.frames.pop() {
            self.path.truncate(frame.path_len);
            self.raw.truncate(frame.raw_len);
            self.labels.truncate(frame.labels_len);
            self.label_names.truncate(frame.label_names_len);
        }
        if self
            .skip_depth
            .is_some_and(|depth| self.frames.len() < depth)
        {
            self.skip_depth = None;
        }
    }

    /// Starts a field or an entry: ends a skip at this depth; `false` while skipping.
    fn next_member(&mut self) -> bool {
        match self.skip_depth {
            Some(depth) if depth == self.frames.len() => {
                self.skip_depth = None;
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    fn finish(mut self) -> String {
        if self.options.format == PrometheusFormat::OpenMetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
        // Families come in the order they were created; only a family whose samples
        // came in several runs makes the output need putting together.
        let out = if self.families.iter().all(|family| family.more.is_empty()) {
            self.out
        } else {
            let mut out = Vec::with_capacity(self.out.len());
            for family in &self.families {
                for run in std::iter::once(&family.first).chain(&family.more) {
                    out.extend_from_slice(&self.out[run.clone()]);
                }
            }
            if self.options.format == PrometheusFormat::OpenMetrics {
                out.extend_from_slice(b"# EOF\n");
            }
            out
        };
        LAST_SIZE.store(out.len(), Relaxed);
        // Only `&str` contents and ASCII are ever written.
        String::from_utf8(out).expect("Prometheus output is UTF-8")
    }
}

/// Appends `name="value"` (escaped) to rendered labels.
fn push_label(labels: &mut Vec<u8>, name: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(b',');
    }
    labels.extend_from_slice(name.as_bytes());
    labels.extend_from_slice(b"=\"");
    push_label_value(labels, value);
    labels.push(b'"');
}

/// `bounds` if increasing and finite, else the increasing finite subsequence of it.
fn valid_bounds(bounds: &'static [f64]) -> std::borrow::Cow<'static, [f64]> {
    let valid = |pair: &[f64]| pair[0] < pair[1];
    if bounds.iter().all(|bound| bound.is_finite()) && bounds.windows(2).all(valid) {
        return std::borrow::Cow::Borrowed(bounds);
    }
    let mut kept: Vec<f64> = Vec::with_capacity(bounds.len());
    for &bound in bounds {
        if bound.is_finite() && kept.last().is_none_or(|&last| last < bound) {
            kept.push(bound);
        }
    }
    std::borrow::Cow::Owned(kept)
}

impl Encode for PromEncoder<'_> {
    fn counter(&mut self, value: u64) {
        self.scalar(Kind::Counter, Number::U64(value));
    }

    fn counter_f64(&mut self, value: f64) {
        self.scalar(Kind::Counter, Number::F64(value));
    }

    fn gauge(&mut self, value: i64) {
        self.scalar(Kind::Gauge, Number::I64(value));
    }

    fn float(&mut self, value: f64) {
        self.scalar(Kind::Gauge, Number::F64(value));
    }

    fn str(&mut self, value: &str) {
        self.string(value);
    }

    fn bool(&mut self, value: bool) {
        self.scalar(Kind::Gauge, Number::U64(u64::from(value)));
    }

    fn null(&mut self) {}

    fn histogram(&mut self, histogram: &Histogram) {
        if self.skip_depth.is_some() {
            return;
        }
        if self.label_names.iter().any(|name| name == "le") {
            self.skipped(&"its map label is `le`, the label of histogram buckets");
            return;
        }
        let Some(index) = self.family(Kind::Histogram) else {
            return;
        };
        let bounds = valid_bounds(histogram.buckets());
        if bounds.len() != histogram.buckets().len() {
            self.skipped(&"some bucket bounds are not finite and increasing; they are left out");
        }
        let counts = histogram.le_counts(&bounds);
        let mut le = Vec::with_capacity(24);
        for (&bound, &count) in bounds.iter().zip(&counts.cumulative) {
            le.clear();
            push_f64(&mut le, bound);
            self.sample(index, "_bucket", Some(("le", &le)), Number::U64(count));
        }
        self.sample(
            index,
            "_bucket",
            Some(("le", b"+Inf")),
            Number::U64(counts.count),
        );
        self.sample(index, "_sum", None, Number::F64(histogram.sum()));
        self.sample(index, "_count", None, Number::U64(counts.count));
    }

    fn json(&mut self, value: &serde_json::Value) {
        self.json_value(value);
    }

    fn fail(&mut self, reason: &dyn fmt::Display) {
        registry::record_failure(&self.current, reason);
    }

    fn begin_object(&mut self) {
        self.push_frame(None);
    }

    fn field(&mut self, name: &str, help: Option<&str>) {
        if !self.next_member() {
            return;
        }
        if let Some(frame) = self.frames.last() {
            self.path.truncate(frame.path_len);
            self.raw.truncate(frame.raw_len);
        }
        self.help = help.map(str::to_owned);
        self.kind_override = None;
        match self.field_table {
            Some(table) if self.frames.len() == 1 => {
                match table.iter().find(|(field, _, _)| *field == name) {
                    Some(&(_, renamed, kind)) => {
                        self.push_segment(renamed);
                        self.kind_override = Some(kind);
                    }
                    // Left out by design (see `MEMSTATS_FIELDS`): nothing to log.
                    None => self.skip_depth = Some(self.frames.len()),
                }
            }
            _ => self.push_segment(name),
        }
    }

    fn end_object(&mut self) {
        self.pop_frame();
    }

    fn begin_map(&mut self, label: &str) {
        if self.skip_depth.is_some() {
            self.push_frame(None);
            return;
        }
        let label = label_name(label);
        if self.label_names.contains(&label) {
            self.skip_value(&format_args!("its label `{label}` is already used"));
            self.push_frame(None);
            return;
        }
        self.push_frame(Some(label.clone()));
        self.label_names.push(label);
    }

    fn entry(&mut self, key: &str) {
        if !self.next_member() {
            return;
        }
        let Some(frame) = self.frames.last() else {
            return;
        };
        self.path.truncate(frame.path_len);
        self.raw.truncate(frame.raw_len);
        self.labels.truncate(frame.labels_len);
        if let Some(label) = &frame.label {
            push_label(&mut self.labels, label, key);
        }
    }

    fn end_map(&mut self) {
        self.pop_frame();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::registry::functions::{FunctionEntry, FunctionInfo, FunctionStats};
    use crate::registry::{IntoVarRef, Site};

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
        render_document(vars, options)
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

    /// The `process` variable gets the standard `process_*` names,
    /// without the namespace.
    struct Process;

    impl Var for Process {
        fn write(&self, out: Writer<'_>) {
            out.object(|fields| {
                fields.field("resident_memory_bytes").gauge(1 << 20);
                fields.field("cpu_seconds").counter_f64(0.5);
                fields.field("open_fds").gauge(7);
                fields.field("start_time_seconds").float(1.7e9);
            });
        }
    }

    #[test]
    fn process_gets_standard_names() {
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
        assert!(
            text.starts_with("# HELP a expvar variable a\n# TYPE a gauge\na 5\n# HELP build_info")
        );
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

    #[test]
    fn accept_negotiation() {
        use PrometheusFormat::*;
        assert_eq!(PrometheusFormat::from_accept(""), Text);
        assert_eq!(
            PrometheusFormat::from_accept("text/plain;version=0.0.4"),
            Text
        );
        assert_eq!(
            PrometheusFormat::from_accept("application/openmetrics-text; version=1.0.0"),
            OpenMetrics
        );
        assert_eq!(
            PrometheusFormat::from_accept("text/plain, application/openmetrics-text;q=0"),
            Text
        );
        assert_eq!(
            PrometheusFormat::from_accept(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            ),
            OpenMetrics
        );
    }

    #[test]
    fn bounds_are_filtered() {
        static BAD: [f64; 5] = [1.0, 0.5, 2.0, f64::NAN, 3.0];
        assert_eq!(&*valid_bounds(&BAD), [1.0, 2.0, 3.0]);
        assert!(matches!(
            valid_bounds(crate::vars::histogram::DEFAULT_BUCKETS),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
