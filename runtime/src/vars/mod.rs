//! Variables of your own: the [`Var`] trait, the [`Writer`] a variable describes
//! itself to and its companions ([`Unit`], [`Distribution`], [`ObjectWriter`],
//! [`MapWriter`]), handles to published variables ([`VarRef`]), and the constants of
//! the built-in [`Histogram`](crate::Histogram) and [`Map`](crate::Map).

pub(crate) mod counter;
pub(crate) mod entry;
pub(crate) mod float;
pub(crate) mod func;
pub(crate) mod gauge;
pub(crate) mod histogram;
pub(crate) mod map;
mod map_limits;
pub(crate) mod str;

mod describe;
mod distribution;
mod entry_cache;
pub(crate) mod exemplar;
mod key_table;
mod var_ref;

pub use describe::Unit;
pub(crate) use describe::{Describe, View};
pub use distribution::{Distribution, NativeBuckets, Statistic};
pub use exemplar::{refused_exemplars, Exemplar, ExemplarError, MAX_EXEMPLAR_LABEL_CHARS};
pub use histogram::{
    HistogramSummary, NativeOptions, DEFAULT_BUCKETS, DEFAULT_ZERO_THRESHOLD,
    QUANTILE_RELATIVE_ERROR,
};
pub use map::{DEFAULT_LABEL, OVERFLOW_KEY};
pub use map_limits::{
    default_map_limit, max_map_key_bytes, set_default_map_limit, set_max_map_key_bytes,
    DEFAULT_MAP_LIMIT, DEFAULT_MAX_MAP_KEY_BYTES,
};
pub use var_ref::{IntoVarRef, VarRef};

/// A variable that can be published and read by `/debug/vars` (Go's `expvar.Var`).
///
/// A variable does not produce text itself: it describes its current value to a
/// [`Writer`], and the encoder behind the writer turns that description into JSON for
/// `/debug/vars` or into another format. Every built-in type ([`Counter`](crate::Counter),
/// [`Gauge`](crate::Gauge), [`Map`](crate::Map), ...) implements it, `#[derive(Expvar)]`
/// implements it for structs, and you can implement it for your own types.
///
/// # Example: a status read under a lock
///
/// ```
/// use std::sync::Mutex;
/// use expvar::{Var, Writer};
///
/// #[derive(Default)]
/// struct QueueStatus {
///     inner: Mutex<Queue>,
/// }
///
/// #[derive(Default)]
/// struct Queue {
///     pending: usize,
///     done: u64,
/// }
///
/// impl Var for QueueStatus {
///     fn write(&self, out: Writer<'_>) {
///         // Read both fields under one lock so they are consistent with each other.
///         let queue = self.inner.lock().unwrap();
///         out.object(|fields| {
///             fields.field("pending").gauge(queue.pending as i64);
///             fields.field("done").counter(queue.done);
///         });
///     }
/// }
///
/// let status = QueueStatus::default();
/// status.inner.lock().unwrap().pending = 3;
/// assert_eq!(expvar::render_json(&status), r#"{"pending": 3, "done": 0}"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an expvar variable",
    label = "this type does not implement `expvar::Var`",
    note = "use a variable type such as `expvar::Counter`, `Gauge`, `Float`, `Str`, `Map<_>`, `Histogram`, or a struct with `#[derive(Expvar)]`",
    note = "or implement `expvar::Var` for `{Self}`, or mark the field `#[expvar(skip)]`"
)]
pub trait Var: Send + Sync {
    /// Describes the current value of the variable to `out`.
    ///
    /// Write exactly one value. A writer that is dropped without a value writes `null`,
    /// so the output stays well-formed whatever the implementation does.
    fn write(&self, out: Writer<'_>);

    /// Not public API. Whether `write` takes no lock and runs no user code, so a
    /// [`Map`](crate::Map) of such values may write them while holding its own lock.
    #[doc(hidden)]
    fn __writes_without_locks() -> bool
    where
        Self: Sized,
    {
        false
    }

    /// Not public API. Appends the values of `vars`, in order, to `totals`, read
    /// together (one lock for all, where reading one takes a lock), for a
    /// [`Map`](crate::Map) to write as counters; `false` (and nothing appended) for a
    /// type that is not read that way.
    #[doc(hidden)]
    fn __read_counters<'v>(
        vars: impl Iterator<Item = &'v Self> + Clone,
        totals: &mut Vec<u64>,
    ) -> bool
    where
        Self: Sized + 'v,
    {
        let _ = (vars, totals);
        false
    }

    /// Not public API. Writes the variable with the label names of nested maps:
    /// [`Map::with_labels`](crate::Map::with_labels) hands each level's map the rest of
    /// its list. Other variables have no labels to take and write as usual.
    #[doc(hidden)]
    fn __write_labelled(&self, labels: &[&'static str], out: Writer<'_>) {
        let _ = labels;
        self.write(out);
    }

    /// Not public API. Whether `write` may take long or run user code. The server
    /// renders such a variable on a worker thread with a deadline; the built-in types
    /// that only read atomics or their own short lock answer `false` and are written
    /// in place.
    #[doc(hidden)]
    fn __may_block(&self) -> bool {
        true
    }
}

/// Receives the value of one variable. Handed to [`Var::write`].
///
/// Each value method ([`counter`](Self::counter), [`gauge`](Self::gauge),
/// [`object`](Self::object), ...) writes one value and consumes the writer. What the
/// method is says what kind of value it is; the describing methods before it
/// ([`help`](Self::help), [`unit`](Self::unit), [`metric_name`](Self::metric_name),
/// [`labels`](Self::labels), [`json_only`](Self::json_only),
/// [`metrics_only`](Self::metrics_only)) say the rest. Every output (`/debug/vars`,
/// `/metrics`, the dashboard) is a view of this one description, so a type of your own
/// reaches all of them without any change to an encoder.
///
/// ```
/// use expvar::{Registry, Var, Writer, vars::Unit};
///
/// /// A cache that reports its size and its hit count.
/// struct Cache { bytes: u64, hits: u64 }
///
/// impl Var for Cache {
///     fn write(&self, out: Writer<'_>) {
///         out.object(|fields| {
///             fields.field("size").help("Bytes held.").unit(Unit::Bytes).gauge(self.bytes as i64);
///             fields.field("hits").help("Lookups answered.").counter(self.hits);
///         });
///     }
/// }
///
/// let registry = Registry::new();
/// registry.publish("cache", std::sync::Arc::new(Cache { bytes: 4096, hits: 7 })).unwrap();
/// assert_eq!(registry.to_json(), "{\n\"cache\": {\"size\": 4096, \"hits\": 7}\n}\n");
/// let text = registry.to_prometheus();
/// assert!(text.contains("# HELP cache_size_bytes Bytes held.\n# TYPE cache_size_bytes gauge\ncache_size_bytes 4096\n"));
/// assert!(text.contains("# TYPE cache_hits_total counter\ncache_hits_total 7\n"));
/// ```
#[must_use = "a writer that is dropped without a value writes `null`"]
pub struct Writer<'a> {
    encoder: &'a mut dyn Encode,
    written: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(encoder: &'a mut dyn Encode) -> Self {
        Writer {
            encoder,
            written: false,
        }
    }

    /// Describes the value: the Prometheus `HELP` text and the dashboard's tooltip.
    pub fn help(self, text: &str) -> Self {
        self.encoder.describe(Describe::Help(text));
        self
    }

    /// The unit of the value. At `/metrics` the family name ends in it (`_seconds`,
    /// `_bytes`; appended when the name does not already end so) and OpenMetrics gets a
    /// `# UNIT` line; the dashboard formats the value by it.
    pub fn unit(self, unit: Unit) -> Self {
        self.encoder.describe(Describe::Unit(unit));
        self
    }

    /// The metric name of this value, in place of the one made from its path
    /// (`variable_field_...`), for formats with strict names such as Prometheus.
    ///
    /// The name is used as given (sanitised), without the namespace: it is for values
    /// with a standard name, such as `process_resident_memory_bytes`. Fields below the
    /// value extend it (`name_field`); an empty name makes the names below start afresh,
    /// as if their fields were variables of their own. Several values of one variable
    /// may share a name when their labels tell their series apart.
    pub fn metric_name(self, name: &str) -> Self {
        self.encoder.describe(Describe::MetricName(name));
        self
    }

    /// Labels that every series of this value carries, besides those of the maps it is
    /// in (Prometheus labels; the dashboard and JSON do not show them).
    ///
    /// ```
    /// use expvar::{Registry, Var, Writer};
    ///
    /// struct Results { ok: u64, failed: u64 }
    ///
    /// impl Var for Results {
    ///     fn write(&self, out: Writer<'_>) {
    ///         out.object(|fields| {
    ///             fields.field("ok").metric_name("jobs").labels(&[("result", "ok")]).counter(self.ok);
    ///             fields.field("failed").metric_name("jobs").labels(&[("result", "failed")]).counter(self.failed);
    ///         });
    ///     }
    /// }
    ///
    /// let registry = Registry::new();
    /// registry.publish("results", std::sync::Arc::new(Results { ok: 3, failed: 1 })).unwrap();
    /// let text = registry.to_prometheus();
    /// assert!(text.contains("jobs_total{result=\"ok\"} 3\njobs_total{result=\"failed\"} 1\n"));
    /// ```
    pub fn labels(self, labels: &[(&str, &str)]) -> Self {
        self.encoder.describe(Describe::Labels(labels));
        self
    }

    /// Shows the value in `/debug/vars` only: it is not a metric (a command line, a
    /// list of names).
    pub fn json_only(self) -> Self {
        self.encoder.describe(Describe::View(View::Json));
        self
    }

    /// Shows the value in the metric views only (`/metrics`): another view of figures
    /// the JSON already has, shaped as the metric format wants them.
    pub fn metrics_only(self) -> Self {
        self.encoder.describe(Describe::View(View::Metrics));
        self
    }

    /// Writes a monotonically increasing count.
    pub fn counter(mut self, value: u64) {
        self.written = true;
        self.encoder.counter(value);
    }

    /// Writes a count with an exemplar: a sample of what was counted with labels that
    /// lead to where it came from (OpenMetrics and the protobuf exposition show it after
    /// the sample; other views show the count alone). See [`Exemplar`].
    pub fn counter_with_exemplar(mut self, value: u64, exemplar: &Exemplar<'_>) {
        self.written = true;
        self.encoder.counter_with_exemplar(value, exemplar);
    }

    /// Writes a monotonically increasing floating-point total, such as CPU seconds.
    ///
    /// A number in JSON, like [`float`](Self::float); a Prometheus `counter` (with
    /// `_total`) rather than a gauge. A NaN or negative total has no place in a
    /// counter: `/metrics` leaves it out (logged once, counted in
    /// [`render_failures`](crate::registry::render_failures)).
    pub fn counter_f64(mut self, value: f64) {
        self.written = true;
        self.encoder.counter_f64(value);
    }

    /// Writes a signed value that can go up and down.
    pub fn gauge(mut self, value: i64) {
        self.written = true;
        self.encoder.gauge(value);
    }

    /// Writes a floating-point value. NaN and infinities are written as JSON `null`.
    pub fn float(mut self, value: f64) {
        self.written = true;
        self.encoder.float(value);
    }

    /// Writes a string. At `/metrics` it is an info series (`name_info{value="..."} 1`).
    pub fn str(mut self, value: &str) {
        self.written = true;
        self.encoder.str(value);
    }

    /// Writes a boolean (a `0`/`1` gauge at `/metrics`).
    pub fn bool(mut self, value: bool) {
        self.written = true;
        self.encoder.bool(value);
    }

    /// Writes an absent value (`null`).
    pub fn null(mut self) {
        self.written = true;
        self.encoder.null();
    }

    /// Writes a distribution of observations: a [`Histogram`](crate::Histogram)'s, or
    /// one a type of your own keeps. See [`Distribution`].
    pub fn distribution(self, distribution: &Distribution<'_>) {
        self.distribution_with(distribution, None, &[]);
    }

    /// Writes a distribution with what only some formats carry: its native buckets
    /// (the protobuf exposition; see [`NativeBuckets`]) and exemplars (OpenMetrics and
    /// the protobuf exposition put each on the bucket holding its value; see
    /// [`Exemplar`]). Other views show the [`Distribution`] alone.
    pub fn distribution_with(
        mut self,
        distribution: &Distribution<'_>,
        native: Option<&NativeBuckets<'_>>,
        exemplars: &[Exemplar<'_>],
    ) {
        self.written = true;
        self.encoder.distribution(distribution, native, exemplars);
    }

    /// Writes an arbitrary JSON value, as produced by a [`Func`](crate::Func).
    pub fn json(mut self, value: &serde_json::Value) {
        self.written = true;
        self.encoder.json(value);
    }

    /// Writes `null` and reports that the value could not be produced.
    ///
    /// The failure is counted (see [`render_failures`](crate::registry::render_failures)) and
    /// logged with the variable's name; the rest of the document is unaffected.
    pub fn fail(mut self, reason: &dyn std::fmt::Display) {
        self.written = true;
        self.encoder.fail(reason);
    }

    /// Hands the encoder to `write`, which writes exactly one value straight to it: a
    /// value captured earlier and replayed.
    #[cfg(any(feature = "server", feature = "remote-write", feature = "otlp"))]
    pub(crate) fn replay(mut self, write: impl FnOnce(&mut dyn Encode)) {
        self.written = true;
        write(&mut *self.encoder);
    }

    /// Writes another variable in place of this value.
    pub fn var(self, var: &dyn Var) {
        var.write(self);
    }

    /// Writes an object with named fields, in the order `fields` adds them.
    ///
    /// ```
    /// # use expvar::{Var, Writer};
    /// struct Point { x: i64, y: i64 }
    /// impl Var for Point {
    ///     fn write(&self, out: Writer<'_>) {
    ///         out.object(|o| {
    ///             o.field("x").gauge(self.x);
    ///             o.field("y").gauge(self.y);
    ///         });
    ///     }
    /// }
    /// assert_eq!(expvar::render_json(&Point { x: 1, y: -2 }), r#"{"x": 1, "y": -2}"#);
    /// ```
    pub fn object(mut self, fields: impl FnOnce(&mut ObjectWriter<'_>)) {
        self.written = true;
        self.encoder.begin_object();
        fields(&mut ObjectWriter {
            encoder: &mut *self.encoder,
        });
        self.encoder.end_object();
    }

    /// Writes keyed entries that share one dimension named `label`, in the order
    /// `entries` adds them (callers add them sorted by key, as [`Map`](crate::Map) does).
    ///
    /// In JSON this is an object keyed by entry; the label names the dimension for
    /// formats that have one, such as Prometheus labels.
    pub fn map(mut self, label: &str, entries: impl FnOnce(&mut MapWriter<'_>)) {
        self.written = true;
        self.encoder.begin_map(label);
        entries(&mut MapWriter {
            encoder: &mut *self.encoder,
        });
        self.encoder.end_map();
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if !self.written {
            self.encoder.null();
        }
    }
}

/// Adds named fields to an object. See [`Writer::object`].
pub struct ObjectWriter<'a> {
    encoder: &'a mut dyn Encode,
}

impl ObjectWriter<'_> {
    /// Starts the field `name`; write its value with the returned [`Writer`].
    pub fn field(&mut self, name: &str) -> Writer<'_> {
        self.encoder.field(name);
        Writer::new(&mut *self.encoder)
    }

    /// Starts the field `name` with a description: `field(name).help(help)`.
    pub fn field_with_help(&mut self, name: &str, help: &str) -> Writer<'_> {
        self.field(name).help(help)
    }
}

/// Adds keyed entries to a map. See [`Writer::map`].
pub struct MapWriter<'a> {
    encoder: &'a mut dyn Encode,
}

impl MapWriter<'_> {
    /// Starts the entry `key`; write its value with the returned [`Writer`].
    pub fn entry(&mut self, key: &str) -> Writer<'_> {
        self.encoder.entry(key);
        Writer::new(&mut *self.encoder)
    }

    /// Entries whose values are counters, as `entry(key).counter(value)` for each.
    pub(crate) fn counters(&mut self, mut entries: CounterEntries<'_>) {
        self.encoder.counter_entries(&mut entries);
    }
}

/// The entries of a map of counters, in order (see `Encode::counter_entries`): a
/// concrete iterator, so an encoder's loop over them is compiled with it.
#[derive(Debug, Clone)]
pub(crate) struct CounterEntries<'a> {
    /// Every key, one after another.
    keys: &'a str,
    /// Where each key starts in `keys`, and where the last one ends.
    starts: &'a [usize],
    plain: &'a [bool],
    totals: &'a [u64],
    next: usize,
}

impl<'a> CounterEntries<'a> {
    /// The entries whose keys are `keys` cut at `starts`, with `plain` and `totals`.
    ///
    /// # Safety
    /// `starts` must be increasing offsets of `keys` on character boundaries, the first
    /// 0 and the last `keys.len()`.
    pub(crate) unsafe fn new(
        keys: &'a str,
        starts: &'a [usize],
        plain: &'a [bool],
        totals: &'a [u64],
    ) -> Self {
        CounterEntries {
            keys,
            starts,
            plain,
            totals,
            next: 0,
        }
    }
}

impl<'a> Iterator for CounterEntries<'a> {
    type Item = CounterEntry<'a>;

    #[inline]
    fn next(&mut self) -> Option<CounterEntry<'a>> {
        let index = self.next;
        let (&value, &plain) = (self.totals.get(index)?, self.plain.get(index)?);
        let (&start, &end) = (self.starts.get(index)?, self.starts.get(index + 1)?);
        self.next += 1;
        Some(CounterEntry {
            // SAFETY: `new`'s contract: `start..end` is a key, on character boundaries.
            key: unsafe { self.keys.get_unchecked(start..end) },
            plain,
            value,
        })
    }
}

/// One entry of a map of counters (see `Encode::counter_entries`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CounterEntry<'a> {
    pub(crate) key: &'a str,
    /// Whether no byte of `key` is one a format escapes: a control character, `"` or
    /// `\` (known when the map's keys were last put in order, so not looked at again).
    pub(crate) plain: bool,
    pub(crate) value: u64,
}

impl<V: Var + ?Sized> Var for &V {
    fn write(&self, out: Writer<'_>) {
        (**self).write(out);
    }

    fn __may_block(&self) -> bool {
        (**self).__may_block()
    }
}

impl<V: Var + ?Sized> Var for Box<V> {
    fn write(&self, out: Writer<'_>) {
        (**self).write(out);
    }

    fn __may_block(&self) -> bool {
        (**self).__may_block()
    }
}

impl<V: Var + ?Sized> Var for std::sync::Arc<V> {
    fn write(&self, out: Writer<'_>) {
        (**self).write(out);
    }

    fn __may_block(&self) -> bool {
        (**self).__may_block()
    }
}

/// The receiving end of a [`Writer`]: one output format.
///
/// An encoder sees the stream of what variables write: facts about the next value
/// (`describe`), then the value itself, objects and maps as begin/member/end.
pub(crate) trait Encode {
    /// A fact about the value about to be written; any number come before it.
    fn describe(&mut self, fact: Describe<'_>);
    fn counter(&mut self, value: u64);
    fn counter_f64(&mut self, value: f64);
    fn gauge(&mut self, value: i64);
    fn float(&mut self, value: f64);
    fn str(&mut self, value: &str);
    fn bool(&mut self, value: bool);
    fn null(&mut self);
    fn distribution(
        &mut self,
        distribution: &Distribution<'_>,
        native: Option<&NativeBuckets<'_>>,
        exemplars: &[Exemplar<'_>],
    );
    /// A count with an exemplar; only the formats that show exemplars need more than
    /// the count.
    fn counter_with_exemplar(&mut self, value: u64, _exemplar: &Exemplar<'_>) {
        self.counter(value);
    }
    fn json(&mut self, value: &serde_json::Value);
    /// A value that could not be produced: written as absent, counted and logged.
    fn fail(&mut self, reason: &dyn std::fmt::Display);
    fn begin_object(&mut self);
    fn field(&mut self, name: &str);
    fn end_object(&mut self);
    fn begin_map(&mut self, label: &str);
    fn entry(&mut self, key: &str);
    fn end_map(&mut self);

    /// Entries of the current map whose values are counters: `entry(key)` then
    /// `counter(value)` for each, which an encoder may do at once.
    fn counter_entries(&mut self, entries: &mut CounterEntries<'_>) {
        for entry in entries {
            self.entry(entry.key);
            self.counter(entry.value);
        }
    }
}
