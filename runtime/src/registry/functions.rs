//! Statistics of instrumented functions (`#[counted]`, `#[timed]`), grouped under the
//! top-level `functions` variable.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use once_cell::sync::Lazy;
use quanta::Instant;

use crate::registry::{first_of_each_name, trace, Conflict, Site};
use crate::slots;
use crate::vars::counter::Counter;
use crate::vars::histogram::Histogram;
use crate::vars::{Unit, Var, Writer};

/// The top-level variable holding every instrumented function.
pub const FUNCTIONS_VAR: &str = "functions";

/// Calls, errors, in-flight calls and durations of one instrumented function.
///
/// The macros create one `static` per annotated function and account each call
/// through a [`CallGuard`]. In-flight calls are `calls - finished`, two per-thread
/// [`Counter`]s, so entering and leaving a function never contend across threads.
pub struct FunctionStats {
    calls: Counter,
    finished: Counter,
    errors: Counter,
    duration: Histogram,
}

impl FunctionStats {
    /// Empty statistics. `const`, for the `static` each annotated function gets.
    pub const fn new() -> Self {
        FunctionStats {
            calls: Counter::new(),
            finished: Counter::new(),
            errors: Counter::new(),
            duration: Histogram::new(),
        }
    }

    /// Empty statistics whose durations are served at `/metrics` with the `le` bounds
    /// `buckets` (seconds), for `#[timed(buckets = [..])]`; see
    /// [`Histogram::with_buckets`].
    pub const fn with_buckets(buckets: &'static [f64]) -> Self {
        FunctionStats {
            calls: Counter::new(),
            finished: Counter::new(),
            errors: Counter::new(),
            duration: Histogram::with_buckets(buckets),
        }
    }

    /// Empty statistics whose durations are served as a native histogram, with
    /// [`DEFAULT_BUCKETS`](crate::vars::DEFAULT_BUCKETS) as classic buckets beside it for
    /// scrapers that read text; for `#[timed(native)]`. See [`Histogram::native`].
    pub const fn native() -> Self {
        FunctionStats::native_with_buckets(crate::vars::DEFAULT_BUCKETS)
    }

    /// [`native`](Self::native) with the classic `le` bounds `buckets` (seconds), for
    /// `#[timed(native, buckets = [..])]`.
    pub const fn native_with_buckets(buckets: &'static [f64]) -> Self {
        FunctionStats {
            calls: Counter::new(),
            finished: Counter::new(),
            errors: Counter::new(),
            duration: Histogram::native().with_classic(buckets),
        }
    }

    /// Counts a call and returns the guard that finishes it when dropped.
    ///
    /// The guard may be dropped on another thread (it lives in a future that a runtime
    /// moves between threads), so it cannot keep this thread's slot table as
    /// [`enter_local`](Self::enter_local)'s does. It keeps this thread's `finished` slot,
    /// looked up with `calls`' in one read of the thread's table, and adds to it if it
    /// ends on this thread; elsewhere it counts on the thread it ends on. Exact either way.
    #[inline]
    pub fn enter(&'static self) -> CallGuard {
        // Warm: both counters have ids and this thread has their chunk.
        if let (Some(calls), Some(finished)) = (self.calls.slot_id(), self.finished.slot_id()) {
            if let Some(finished) = slots::add_and_pin(calls, 1, finished) {
                return CallGuard {
                    call: Call::new(self),
                    finished: Some(finished),
                };
            }
        }
        self.enter_cold()
    }

    /// [`enter`](Self::enter) on a thread without the chunks yet, or before the
    /// counters have ids.
    #[cold]
    #[inline(never)]
    fn enter_cold(&'static self) -> CallGuard {
        let finished = match self.finished.pin() {
            Some((table, finished)) => {
                self.calls.add_on(table, 1);
                Some(finished)
            }
            None => {
                self.calls.inc();
                None
            }
        };
        CallGuard {
            call: Call::new(self),
            finished,
        }
    }

    /// Like [`enter`](Self::enter), also timing the call.
    ///
    /// The clock is `quanta`'s: the CPU's time-stamp counter where it is invariant
    /// (several times cheaper to read than the OS clock in a VM), calibrated against
    /// the OS clock, which it falls back to elsewhere.
    #[inline]
    pub fn enter_timed(&'static self) -> CallGuard {
        let mut guard = self.enter();
        guard.call.started = Some(Instant::now());
        guard
    }

    /// Like [`enter`](Self::enter), for a call that ends on the thread it started on (a
    /// function that is not `async`): the guard keeps this thread's slot table, so the
    /// call costs one thread-local read instead of two. Not `Send`.
    #[doc(hidden)]
    #[inline]
    pub fn enter_local(&'static self) -> LocalCallGuard {
        let table = slots::this_thread();
        self.calls.add_on(table, 1);
        LocalCallGuard {
            call: Call::new(self),
            table,
        }
    }

    /// [`enter_local`](Self::enter_local), also timing the call.
    #[doc(hidden)]
    #[inline]
    pub fn enter_timed_local(&'static self) -> LocalCallGuard {
        let mut guard = self.enter_local();
        guard.call.started = Some(Instant::now());
        guard
    }

    /// Calls started, including those still running.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Calls that have finished: returned, panicked, or were dropped (a future).
    pub fn finished(&self) -> u64 {
        self.finished.get()
    }

    /// Calls that returned an error (`Err`, or `None` for `Option`) or panicked.
    pub fn errors(&self) -> u64 {
        self.errors.get()
    }

    /// Calls started and not yet finished.
    pub fn in_flight(&self) -> u64 {
        // Read `finished` first: a call finishing between the two reads can then only
        // make the result too high by one for an instant, never wrap below zero.
        let finished = self.finished();
        self.calls.get().saturating_sub(finished)
    }

    /// Durations of timed calls, in seconds.
    pub fn duration(&self) -> &Histogram {
        &self.duration
    }

    /// The underlying call counter, publishable on its own (Go's `NewInt`).
    pub fn calls_counter(&self) -> &Counter {
        &self.calls
    }
}

impl Default for FunctionStats {
    fn default() -> Self {
        FunctionStats::new()
    }
}

impl fmt::Debug for FunctionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionStats")
            .field("calls", &self.calls())
            .field("errors", &self.errors())
            .field("in_flight", &self.in_flight())
            .field("duration", &self.duration)
            .finish()
    }
}

/// One call in progress: what a guard records when it is dropped.
struct Call {
    stats: &'static FunctionStats,
    started: Option<Instant>,
    failed: bool,
}

impl Call {
    #[inline]
    fn new(stats: &'static FunctionStats) -> Self {
        Call {
            stats,
            started: None,
            failed: false,
        }
    }

    #[inline]
    fn observe<T: Outcome>(&mut self, value: T) -> T {
        if value.is_failure() {
            self.failed = true;
        }
        value
    }

    /// Records the duration and the error, if any; the guard counts the call finished.
    #[inline]
    fn finish(&self) {
        // Inline only the test, so that an untimed call that succeeds stays small
        // (unless exemplars may come from OpenTelemetry, a constant).
        if self.started.is_some() || self.failed || std::thread::panicking() || trace::ENABLED {
            self.record();
        }
    }

    #[inline(never)]
    fn record(&self) {
        let span = trace::sampled();
        let exemplar = span.as_ref().map(trace::SpanIds::labels);
        if let Some(started) = self.started {
            let duration = started.elapsed();
            match &exemplar {
                // Labels made here are valid: the exemplar is always kept.
                Some(labels) => {
                    let _ = self
                        .stats
                        .duration
                        .record_duration_with_exemplar(duration, labels);
                }
                None => self.stats.duration.record_duration(duration),
            }
        }
        let failed = self.failed || std::thread::panicking();
        match (&exemplar, failed) {
            (Some(labels), true) => {
                let _ = self.stats.errors.inc_with_exemplar(labels);
            }
            (None, true) => self.stats.errors.inc(),
            // The `ok` series is `finished - errors`: its exemplar is kept on `finished`,
            // which the guard then counts.
            (Some(labels), false) => self.stats.finished.keep_exemplar(labels, 1.0),
            (None, false) => {}
        }
    }
}

/// Finishes one call when dropped: on return, `?`, panic, or a dropped future alike.
#[must_use = "the call is finished when the guard is dropped; bind it to a local"]
pub struct CallGuard {
    call: Call,
    /// The `finished` slot of the thread the call started on.
    finished: Option<slots::PinnedSlot>,
}

impl CallGuard {
    /// Marks the call as failed (the function returned an error).
    #[inline]
    pub fn fail(&mut self) {
        self.call.failed = true;
    }

    /// Marks the call as failed if `value` is an error; returns `value` unchanged.
    #[inline]
    pub fn observe<T: Outcome>(&mut self, value: T) -> T {
        self.call.observe(value)
    }
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        self.call.finish();
        match self.finished {
            Some(finished) if finished.add_here(1) => {}
            _ => self.call.stats.finished.inc(),
        }
    }
}

/// A [`CallGuard`] for a call that ends on the thread it started on: see
/// [`FunctionStats::enter_local`].
#[doc(hidden)]
#[must_use = "the call is finished when the guard is dropped; bind it to a local"]
pub struct LocalCallGuard {
    call: Call,
    table: slots::ThreadTable,
}

impl LocalCallGuard {
    /// See [`CallGuard::fail`].
    #[inline]
    pub fn fail(&mut self) {
        self.call.failed = true;
    }

    /// See [`CallGuard::observe`].
    #[inline]
    pub fn observe<T: Outcome>(&mut self, value: T) -> T {
        self.call.observe(value)
    }
}

impl Drop for LocalCallGuard {
    #[inline]
    fn drop(&mut self) {
        self.call.finish();
        self.call.stats.finished.add_on(self.table, 1);
    }
}

/// Return types whose values can be failures: `Result` (`Err`) and `Option` (`None`).
pub trait Outcome {
    /// Whether this value is a failure.
    fn is_failure(&self) -> bool;
}

impl<T, E> Outcome for Result<T, E> {
    #[inline]
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

impl<T> Outcome for Option<T> {
    #[inline]
    fn is_failure(&self) -> bool {
        self.is_none()
    }
}

/// An instrumented function, registered at link time by `#[counted]` / `#[timed]`.
#[doc(hidden)]
pub struct FunctionEntry {
    stats: &'static FunctionStats,
    info: FunctionInfo,
}

/// What the macros know about an instrumented function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionInfo {
    /// The entry's key under `functions`: `module::function`, `module::Type::method`,
    /// or the `name = "..."` given to the macro.
    pub key: &'static str,
    /// The module path (`module_path!()`).
    pub module: &'static str,
    /// The function's name, `Type::method` for methods.
    pub function: &'static str,
    /// Whether calls are timed (`#[timed]`).
    pub timed: bool,
    /// Whether the function returns `Result` or `Option`, so errors apply.
    pub fallible: bool,
    /// Where the function is defined.
    pub site: Site,
}

impl FunctionEntry {
    /// An entry for `stats`, described by `info`.
    pub const fn new(stats: &'static FunctionStats, info: FunctionInfo) -> Self {
        FunctionEntry { stats, info }
    }
}

inventory::collect!(FunctionEntry);

/// Every instrumented function by key (the first of two with one key, by site), and the
/// clashes.
struct FunctionTable {
    by_key: BTreeMap<&'static str, &'static FunctionEntry>,
    conflicts: Vec<Conflict>,
}

static FUNCTIONS: Lazy<FunctionTable> = Lazy::new(|| {
    let entries: Vec<&'static FunctionEntry> =
        inventory::iter::<FunctionEntry>.into_iter().collect();
    let (entries, conflicts) =
        first_of_each_name(entries, |entry| (entry.info.key, entry.info.site));
    let by_key = entries
        .into_iter()
        .map(|entry| (entry.info.key, entry))
        .collect();
    FunctionTable { by_key, conflicts }
});

/// Function keys defined twice; part of [`conflicts`](crate::registry::conflicts).
pub(crate) fn conflicts() -> &'static [Conflict] {
    &FUNCTIONS.conflicts
}

/// Calls `visit` with every instrumented function, sorted by key.
///
/// ```
/// expvar::functions::for_each_function(|info, stats| {
///     println!("{} ({}): {} calls", info.key, info.module, stats.calls());
/// });
/// ```
pub fn for_each_function(mut visit: impl FnMut(&FunctionInfo, &FunctionStats)) {
    for entry in FUNCTIONS.by_key.values() {
        visit(&entry.info, entry.stats);
    }
}

/// The statistics of the instrumented function with `key` (see [`FunctionInfo::key`]).
pub fn function_stats(key: &str) -> Option<&'static FunctionStats> {
    FUNCTIONS.by_key.get(key).map(|entry| entry.stats)
}

/// Whether every timed function's durations are served as native histograms.
static NATIVE_DURATIONS: AtomicBool = AtomicBool::new(false);

/// Serves the durations of every `#[timed]` function as native histograms
/// (`function_calls_duration_seconds` in the protobuf exposition), as if each had
/// `#[timed(native)]`: the crate-wide default. Call it once at start-up; it changes
/// what `/metrics` serves, not what is recorded, so it may be called at any time.
///
/// Durations keep their classic `le` buckets too, so the text formats are unchanged.
/// A function under plain `#[timed]` keeps its buckets at 16 per power of two and is
/// served at 8 per power of two, the resolution of `#[timed(native)]`
/// ([`NativeOptions::DEFAULT`](crate::vars::NativeOptions::DEFAULT)).
///
/// ```
/// expvar::functions::set_native_durations(true);
/// assert!(expvar::functions::native_durations());
/// # expvar::functions::set_native_durations(false);
/// ```
pub fn set_native_durations(native: bool) {
    NATIVE_DURATIONS.store(native, Relaxed);
}

/// Whether [`set_native_durations`] made every timed function's durations native.
pub fn native_durations() -> bool {
    NATIVE_DURATIONS.load(Relaxed)
}

/// The `functions` variable: one object per instrumented function.
///
/// In JSON each function has `calls`, `errors` (fallible ones), `in_flight` and
/// `duration` (timed ones). At `/metrics` it takes the names autometrics uses, labelled
/// by `function` and `module`: `function_calls_total` by `result`,
/// `function_calls_duration_seconds` and `function_calls_concurrent`.
struct Functions;

impl Var for Functions {
    fn write(&self, out: Writer<'_>) {
        out.map("function", |functions| {
            for_each_function(|info, stats| {
                let labels = [("function", info.function), ("module", info.module)];
                functions.entry(info.key).labels(&labels).object(|fields| {
                    // Errors first: a call counts as an error before it counts as
                    // finished, so `ok` is never more than the calls that finished well.
                    let errors = stats.errors();
                    let finished = stats.finished();
                    fields.field("calls").json_only().counter(stats.calls());
                    if info.fallible {
                        fields.field("errors").json_only().counter(errors);
                    }
                    fields
                        .field("in_flight")
                        .metric_name("function_calls_concurrent")
                        .help("Calls of instrumented functions in progress.")
                        .gauge(i64::try_from(stats.in_flight()).unwrap_or(i64::MAX));
                    for (result, count, counter) in [
                        ("ok", finished.saturating_sub(errors), &stats.finished),
                        ("error", errors, &stats.errors),
                    ] {
                        let out = fields
                            .field(result)
                            .metrics_only()
                            .metric_name("function_calls_total")
                            .help("Calls of instrumented functions that finished, by result.")
                            .labels(&[("result", result)]);
                        match counter.exemplar() {
                            Some(kept) => {
                                let pairs = kept.pairs();
                                out.counter_with_exemplar(count, &kept.as_exemplar(&pairs));
                            }
                            None => out.counter(count),
                        }
                    }
                    if info.timed {
                        let out = fields
                            .field("duration")
                            .metric_name("function_calls_duration")
                            .unit(Unit::Seconds)
                            .help("Durations of calls of timed functions, in seconds.");
                        if native_durations() {
                            stats.duration.write_native(None, out);
                        } else {
                            out.var(&stats.duration);
                        }
                    }
                });
            });
        });
    }

    // Atomic counters and histograms of a table built at link time.
    fn __may_block(&self) -> bool {
        false
    }
}

fn functions() -> &'static dyn Var {
    &Functions
}

inventory::submit! {
    crate::vars::entry::Entry::new(FUNCTIONS_VAR, functions, file!(), line!())
}
