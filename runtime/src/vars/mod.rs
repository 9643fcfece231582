//! Variables: the [`Var`] trait, the [`Writer`] a variable describes itself to, and
//! the built-in variable types.

pub(crate) mod counter;
pub(crate) mod float;
pub(crate) mod func;
pub(crate) mod gauge;
pub(crate) mod histogram;
pub(crate) mod map;
pub(crate) mod recording;
pub(crate) mod str;

use crate::vars::histogram::Histogram;

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
/// Each method writes one value and consumes the writer. Composite values are written
/// with [`Writer::object`] (named fields, like a struct) and [`Writer::map`] (keyed
/// entries that share one label, like Go's `expvar.Map`).
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

    /// Writes a monotonically increasing count.
    pub fn counter(mut self, value: u64) {
        self.written = true;
        self.encoder.counter(value);
    }

    /// Writes a monotonically increasing floating-point total, such as CPU seconds.
    ///
    /// A number in JSON, like [`float`](Self::float); a Prometheus `counter` (with
    /// `_total`) rather than a gauge.
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

    /// Writes a string.
    pub fn str(mut self, value: &str) {
        self.written = true;
        self.encoder.str(value);
    }

    /// Writes a boolean.
    pub fn bool(mut self, value: bool) {
        self.written = true;
        self.encoder.bool(value);
    }

    /// Writes an absent value (`null`).
    pub fn null(mut self) {
        self.written = true;
        self.encoder.null();
    }

    /// Writes the distribution recorded by a histogram.
    pub fn histogram(mut self, histogram: &Histogram) {
        self.written = true;
        self.encoder.histogram(histogram);
    }

    /// Writes an arbitrary JSON value, as produced by a [`Func`](crate::Func).
    pub fn json(mut self, value: &serde_json::Value) {
        self.written = true;
        self.encoder.json(value);
    }

    /// Writes `null` and reports that the value could not be produced.
    ///
    /// The failure is counted (see [`render_failures`](crate::render_failures)) and
    /// logged with the variable's name; the rest of the document is unaffected.
    pub fn fail(mut self, reason: &dyn std::fmt::Display) {
        self.written = true;
        self.encoder.fail(reason);
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
        self.encoder.field(name, None);
        Writer::new(&mut *self.encoder)
    }

    /// Starts the field `name` with a description (the Prometheus `HELP` text).
    pub fn field_with_help(&mut self, name: &str, help: &str) -> Writer<'_> {
        self.encoder.field(name, Some(help));
        Writer::new(&mut *self.encoder)
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

/// The receiving end of a [`Writer`](crate::Writer): one output format.
pub(crate) trait Encode {
    fn counter(&mut self, value: u64);
    fn counter_f64(&mut self, value: f64);
    fn gauge(&mut self, value: i64);
    fn float(&mut self, value: f64);
    fn str(&mut self, value: &str);
    fn bool(&mut self, value: bool);
    fn null(&mut self);
    fn histogram(&mut self, histogram: &Histogram);
    fn json(&mut self, value: &serde_json::Value);
    /// A value that could not be produced: written as absent, counted and logged.
    fn fail(&mut self, reason: &dyn std::fmt::Display);
    fn begin_object(&mut self);
    fn field(&mut self, name: &str, help: Option<&str>);
    fn end_object(&mut self);
    fn begin_map(&mut self, label: &str);
    fn entry(&mut self, key: &str);
    fn end_map(&mut self);
}
