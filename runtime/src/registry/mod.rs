//! The registry of published variables. Every output is a view of one.
//!
//! A [`Registry`] is a value: tests and libraries make their own with
//! [`Registry::new`]. The global one ([`Registry::global`]) also holds the link-time
//! entries the macros register, and the free functions ([`publish`], [`get`], ...) are
//! shortcuts to it, as in Go's `expvar`.

mod conflict;
pub(crate) mod functions;
mod trace;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::panic::Location;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use once_cell::sync::Lazy;
use serde::Serialize;

pub use crate::encode::failures::render_failures;
pub use crate::vars::entry::Site;
pub(crate) use conflict::first_of_each_name;
pub use conflict::Conflict;

use crate::encode::json::JsonDocument;
use crate::encode::prometheus::{protobuf_document, text_document, PrometheusOptions};
use crate::encode::render;
use crate::vars::entry::Entry;
use crate::vars::func::Func;
use crate::vars::{IntoVarRef, VarRef};

/// A set of published variables, by name: what `/debug/vars` and `/metrics` show.
///
/// The global registry ([`Registry::global`]) holds what the macros define, Go's
/// `cmdline` and `memstats`, `process`, and what [`publish`] adds; the server serves it
/// unless told otherwise ([`ServerBuilder::registry`](crate::ServerBuilder::registry)).
/// A registry made with [`Registry::new`] holds only what is published into it: give
/// each test, or each component that serves its own page, its own.
///
/// ```
/// use std::sync::Arc;
/// use expvar::{Counter, Registry};
///
/// let registry = Registry::new();
/// let requests = Arc::new(Counter::new());
/// registry.publish("requests", Arc::clone(&requests)).unwrap();
/// requests.add(3);
///
/// assert_eq!(registry.to_json(), "{\n\"requests\": 3\n}\n");
/// assert!(registry.to_prometheus().contains("\nrequests_total 3\n"));
/// ```
pub struct Registry {
    vars: RwLock<BTreeMap<Arc<str>, Published>>,
    /// Link-time names defined twice (the global registry only).
    conflicts: Vec<Conflict>,
}

struct Published {
    var: VarRef,
    site: Site,
    /// A link-time entry: its name belongs to the code that defines it.
    link_time: bool,
}

static GLOBAL: Lazy<Registry> = Lazy::new(|| {
    let entries: Vec<&Entry> = inventory::iter::<Entry>.into_iter().collect();
    let (entries, conflicts) = first_of_each_name(entries, |entry| (entry.name, entry.site));
    let vars = entries
        .into_iter()
        .map(|entry| {
            let published = Published {
                var: VarRef::deferred(entry.var),
                site: entry.site,
                link_time: true,
            };
            (Arc::from(entry.name), published)
        })
        .collect();
    Registry {
        vars: RwLock::new(vars),
        conflicts,
    }
});

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {
            vars: RwLock::new(BTreeMap::new()),
            conflicts: Vec::new(),
        }
    }

    /// The process-wide registry: the link-time variables of the macros, `cmdline`,
    /// `memstats`, `process`, and what [`publish`] adds.
    pub fn global() -> &'static Registry {
        &GLOBAL
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Arc<str>, Published>> {
        // The registry never panics while holding its lock; keep serving regardless.
        self.vars.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes `var` under `name` (Go's `expvar.Publish`).
    ///
    /// `var` is a `&'static` variable or an `Arc` (for instances created at run time).
    /// Names are unique: a taken name is an error naming both places, and nothing is
    /// replaced.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use expvar::{Gauge, Registry};
    ///
    /// let registry = Registry::new();
    /// let pool_size = Arc::new(Gauge::new());
    /// registry.publish("pool_size", Arc::clone(&pool_size)).unwrap();
    /// pool_size.set(8);
    /// assert_eq!(expvar::render_json(&*registry.get("pool_size").unwrap()), "8");
    ///
    /// let err = registry.publish("pool_size", Arc::new(Gauge::new())).unwrap_err();
    /// assert!(err.to_string().contains("already published"));
    /// ```
    #[track_caller]
    pub fn publish(
        &self,
        name: impl Into<String>,
        var: impl IntoVarRef,
    ) -> Result<(), PublishError> {
        let rejected = Site::from(Location::caller());
        let name = name.into();
        if name.is_empty() {
            return Err(PublishError::EmptyName { rejected });
        }
        let mut vars = self.vars.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = vars.get(name.as_str()) {
            return Err(PublishError::Duplicate {
                name,
                existing: existing.site,
                rejected,
            });
        }
        let published = Published {
            var: var.into_var_ref(),
            site: rejected,
            link_time: false,
        };
        vars.insert(Arc::from(name), published);
        Ok(())
    }

    /// Publishes a value computed by `compute` each time it is read. See [`Func`].
    ///
    /// ```
    /// let registry = expvar::Registry::new();
    /// registry.publish_func("answer", || 42).unwrap();
    /// assert_eq!(registry.to_json(), "{\n\"answer\": 42\n}\n");
    /// ```
    #[track_caller]
    pub fn publish_func<F, T>(
        &self,
        name: impl Into<String>,
        compute: F,
    ) -> Result<(), PublishError>
    where
        F: Fn() -> T + Send + Sync + 'static,
        T: Serialize + 'static,
    {
        self.publish(name, Arc::new(Func::new(compute)))
    }

    /// The variable published under `name`.
    pub fn get(&self, name: &str) -> Option<VarRef> {
        self.read().get(name).map(|published| published.var.clone())
    }

    /// Removes a variable published at run time, returning it. Link-time variables (from
    /// the macros) stay: their name belongs to the code that defines them.
    ///
    /// ```
    /// let registry = expvar::Registry::new();
    /// registry.publish("pool", std::sync::Arc::new(expvar::Gauge::new())).unwrap();
    /// assert!(registry.unpublish("pool").is_some());
    /// assert!(registry.get("pool").is_none());
    /// ```
    pub fn unpublish(&self, name: &str) -> Option<VarRef> {
        let mut vars = self.vars.write().unwrap_or_else(PoisonError::into_inner);
        if vars.get(name).is_some_and(|published| !published.link_time) {
            vars.remove(name).map(|published| published.var)
        } else {
            None
        }
    }

    /// Calls `visit` for every published variable in byte-wise sorted name order (Go's
    /// `expvar.Do`). Works on a snapshot, so `visit` may publish or read variables.
    pub fn for_each(&self, mut visit: impl FnMut(&str, &VarRef)) {
        for (name, var) in self.snapshot() {
            visit(&name, &var);
        }
    }

    /// Every published variable, sorted by name.
    pub(crate) fn snapshot(&self) -> Vec<(Arc<str>, VarRef)> {
        let mut vars = Vec::new();
        self.snapshot_into(&mut vars);
        vars
    }

    /// [`snapshot`](Self::snapshot) into a reused vector: no allocation once it has the
    /// capacity (the dashboard's sampler, once a second).
    pub(crate) fn snapshot_into(&self, vars: &mut Vec<(Arc<str>, VarRef)>) {
        vars.clear();
        vars.extend(
            self.read()
                .iter()
                .map(|(name, published)| (Arc::clone(name), published.var.clone())),
        );
    }

    /// The registry as `/debug/vars` serves it: Go's layout, always valid JSON. See
    /// [`to_json`].
    pub fn to_json(&self) -> String {
        self.with_snapshot(|vars| render(vars, JsonDocument::new(vars.len())))
    }

    /// Calls `render` with a [`snapshot`](Self::snapshot) taken into a vector kept on
    /// this thread, so a warm scrape does not allocate it.
    fn with_snapshot<T>(&self, render: impl FnOnce(&[(Arc<str>, VarRef)]) -> T) -> T {
        thread_local! {
            static VARS: Cell<Vec<(Arc<str>, VarRef)>> = const { Cell::new(Vec::new()) };
        }
        // Taken out while in use: a document rendered inside another takes a new one.
        let mut vars = VARS.try_with(Cell::take).unwrap_or_default();
        self.snapshot_into(&mut vars);
        let rendered = render(&vars);
        vars.clear();
        let _ = VARS.try_with(|kept| kept.set(vars));
        rendered
    }

    /// The registry in the Prometheus text format 0.0.4.
    pub fn to_prometheus(&self) -> String {
        self.to_prometheus_with(&PrometheusOptions::default())
    }

    /// The registry as `options` say. See [`PrometheusOptions`].
    pub fn to_prometheus_with(&self, options: &PrometheusOptions) -> String {
        self.with_snapshot(|vars| render(vars, text_document(options, vars.len())))
    }

    /// The registry in the Prometheus protobuf exposition (`Content-Type`
    /// [`PROTOBUF_CONTENT_TYPE`](crate::prometheus::PROTOBUF_CONTENT_TYPE)): length-delimited
    /// `io.prometheus.client.MetricFamily` messages, the same families and series as the
    /// text formats, with native histograms and exemplars. `options` give the namespace
    /// and constant labels; their text format does not apply.
    ///
    /// ```
    /// use expvar::{prometheus::PrometheusOptions, Histogram, Registry};
    ///
    /// static LATENCY: Histogram = Histogram::native();
    /// LATENCY.record(0.25);
    /// let registry = Registry::new();
    /// registry.publish("latency_seconds", &LATENCY).unwrap();
    /// let bytes = registry.to_prometheus_protobuf(&PrometheusOptions::new());
    /// // One message per family, each behind its length: here `latency_seconds` and
    /// // `build_info`.
    /// assert!(bytes.windows(15).any(|w| w == b"latency_seconds"));
    /// ```
    pub fn to_prometheus_protobuf(&self, options: &PrometheusOptions) -> Vec<u8> {
        let vars = self.snapshot();
        render(&vars, protobuf_document(options, vars.len()))
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.read().keys()).finish()
    }
}

/// A registry to serve: the global one, a `&'static` one, or a shared `Arc`. What
/// [`ServerBuilder::registry`](crate::ServerBuilder::registry) and
/// [`service_for`](crate::service_for) take; dereferences to [`Registry`].
#[derive(Clone, Debug)]
pub struct RegistryRef(RegistrySource);

#[derive(Clone, Debug)]
enum RegistrySource {
    Static(&'static Registry),
    Shared(Arc<Registry>),
}

impl Default for RegistryRef {
    fn default() -> Self {
        RegistryRef(RegistrySource::Static(Registry::global()))
    }
}

impl From<&'static Registry> for RegistryRef {
    fn from(registry: &'static Registry) -> Self {
        RegistryRef(RegistrySource::Static(registry))
    }
}

impl From<Arc<Registry>> for RegistryRef {
    fn from(registry: Arc<Registry>) -> Self {
        RegistryRef(RegistrySource::Shared(registry))
    }
}

impl Deref for RegistryRef {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        match &self.0 {
            RegistrySource::Static(registry) => registry,
            RegistrySource::Shared(registry) => registry,
        }
    }
}

/// Why [`publish`] refused a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The name is taken. Names are unique within a registry.
    Duplicate {
        /// The contested name.
        name: String,
        /// Where the variable already registered under `name` comes from.
        existing: Site,
        /// Where the refused call was made.
        rejected: Site,
    },
    /// The name is empty.
    EmptyName {
        /// Where the refused call was made.
        rejected: Site,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Duplicate {
                name,
                existing,
                rejected,
            } => write!(
                f,
                "expvar variable name {name:?} is already published (at {existing}); \
                 the publish at {rejected} was rejected"
            ),
            PublishError::EmptyName { rejected } => {
                write!(
                    f,
                    "expvar variable names must not be empty (publish at {rejected})"
                )
            }
        }
    }
}

impl std::error::Error for PublishError {}

/// Publishes `var` under `name` in the global registry (Go's `expvar.Publish`). See
/// [`Registry::publish`].
///
/// ```
/// use std::sync::Arc;
/// use expvar::{Counter, Gauge};
///
/// static REQUESTS: Counter = Counter::new();
/// expvar::publish("doc_publish_requests", &REQUESTS).unwrap();
///
/// // Per-object statistics, created at run time:
/// let pool_size = Arc::new(Gauge::new());
/// expvar::publish("doc_publish_pool_a", Arc::clone(&pool_size)).unwrap();
/// pool_size.set(8);
/// assert_eq!(expvar::render_json(&*expvar::get("doc_publish_pool_a").unwrap()), "8");
/// ```
#[track_caller]
pub fn publish(name: impl Into<String>, var: impl IntoVarRef) -> Result<(), PublishError> {
    Registry::global().publish(name, var)
}

/// Publishes a value computed by `compute` each time it is read, in the global registry
/// (Go's `expvar.Publish(name, expvar.Func(f))`). See [`Func`].
///
/// ```
/// use std::time::Instant;
///
/// let started = Instant::now();
/// expvar::publish_func("doc_uptime_seconds", move || started.elapsed().as_secs()).unwrap();
/// assert!(expvar::to_json().contains("\"doc_uptime_seconds\": "));
/// ```
#[track_caller]
pub fn publish_func<F, T>(name: impl Into<String>, compute: F) -> Result<(), PublishError>
where
    F: Fn() -> T + Send + Sync + 'static,
    T: Serialize + 'static,
{
    Registry::global().publish_func(name, compute)
}

/// The variable published under `name` in the global registry (Go's `expvar.Get`).
///
/// ```
/// static HITS: expvar::Counter = expvar::Counter::new();
/// expvar::publish("doc_get_hits", &HITS).unwrap();
/// assert!(expvar::get("doc_get_hits").is_some());
/// assert!(expvar::get("doc_get_missing").is_none());
/// ```
pub fn get(name: &str) -> Option<VarRef> {
    Registry::global().get(name)
}

/// Removes a variable published at run time from the global registry. See
/// [`Registry::unpublish`].
pub fn unpublish(name: &str) -> Option<VarRef> {
    Registry::global().unpublish(name)
}

/// Calls `visit` for every variable of the global registry in byte-wise sorted name
/// order (Go's `expvar.Do`).
///
/// ```
/// let mut names = Vec::new();
/// expvar::registry::for_each(|name, _var| names.push(name.to_owned()));
/// assert!(names.contains(&"cmdline".to_owned()));
/// assert!(names.windows(2).all(|pair| pair[0] < pair[1]));
/// ```
pub fn for_each(visit: impl FnMut(&str, &VarRef)) {
    Registry::global().for_each(visit);
}

/// Link-time definitions that claimed a name already taken by another, with both
/// sites: variables (from `#[derive(Expvar)]`, `#[expvar::publish]`, `name = ...`) and
/// instrumented-function keys under `functions`. Each is also printed to standard error
/// and logged when its table is first used.
pub fn conflicts() -> Vec<Conflict> {
    let functions = functions::conflicts();
    Registry::global()
        .conflicts
        .iter()
        .chain(functions)
        .cloned()
        .collect()
}

/// Renders the global registry exactly as `/debug/vars` serves it. See
/// [`Registry::to_json`](crate::Registry::to_json).
///
/// Like Go: one object, keys sorted byte-wise, one variable per line. Unlike Go the
/// output is always valid JSON: NaN and infinities are `null`, and a variable whose
/// [`Var::write`](crate::Var::write) panics (a [`Func`] whose closure panics, say) is `null`
/// while every other variable is intact.
///
/// ```
/// static HITS: expvar::Counter = expvar::Counter::new();
/// expvar::publish("doc_to_json_hits", &HITS).unwrap();
/// HITS.add(2);
///
/// let json = expvar::to_json();
/// assert!(json.starts_with("{\n"));
/// assert!(json.contains("\n\"doc_to_json_hits\": 2"));
/// let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
/// assert_eq!(parsed["doc_to_json_hits"], 2);
/// ```
pub fn to_json() -> String {
    Registry::global().to_json()
}

/// Renders the global registry in the Prometheus text format 0.0.4, as `/metrics` serves
/// it to a client that does not ask for OpenMetrics. See
/// [`Registry::to_prometheus`](crate::Registry::to_prometheus).
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
    Registry::global().to_prometheus()
}

/// Renders the global registry as `options` say. See [`PrometheusOptions`].
pub fn to_prometheus_with(options: &PrometheusOptions) -> String {
    Registry::global().to_prometheus_with(options)
}

/// The global registry in the Prometheus protobuf exposition. See
/// [`Registry::to_prometheus_protobuf`].
pub fn to_prometheus_protobuf(options: &PrometheusOptions) -> Vec<u8> {
    Registry::global().to_prometheus_protobuf(options)
}
