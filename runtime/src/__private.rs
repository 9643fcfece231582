//! Not public API. Used by generated code.
//!
//! Everything the macros' expansions name lives here, so user crates need no direct
//! dependency on `inventory` or on the runtime's module layout, and no name in the
//! user's scope (`struct Option;`, `mod expvar {}`, a `macro_rules! line`) can change
//! what the generated code means.

pub use core::marker::{Send, Sync};
pub use core::option::Option::{self, None, Some};
pub use core::{concat, file, line, module_path, unreachable};

pub use inventory;
pub use once_cell::sync::Lazy;

pub use crate::objectives::declared::{ObjectiveDeclaration, ObjectiveEntry};
pub use crate::registry::functions::{
    CallGuard, FunctionEntry, FunctionInfo, FunctionStats, LocalCallGuard, Outcome,
};
pub use crate::vars::entry::{Entry, Site};
pub use crate::vars::histogram::Histogram;
pub use crate::vars::map::Map;
pub use crate::vars::{ObjectWriter, Var, Writer};

/// What the `static` of a `#[counted]`/`#[timed]` function without `buckets` starts
/// as. A constant, so the compiler evaluates `FunctionStats::new()` once per crate
/// rather than once per annotated function; each static gets its own copy.
#[allow(clippy::declare_interior_mutable_const)]
pub const NEW_FUNCTION_STATS: FunctionStats = FunctionStats::new();

/// [`NEW_FUNCTION_STATS`] for `#[timed(native)]`.
#[allow(clippy::declare_interior_mutable_const)]
pub const NEW_NATIVE_FUNCTION_STATS: FunctionStats = FunctionStats::native();

/// [`FunctionStats::enter_local`], out of line: the one call every `#[counted]`
/// function that is not `async` makes on entry. Inlined, the per-thread counter lookup
/// is compiled and optimized again in every annotated function, most of what an
/// annotation costs the compiler; out of line it is compiled once, for one call
/// instruction per call.
#[inline(never)]
pub fn enter_local(stats: &'static FunctionStats) -> LocalCallGuard {
    stats.enter_local()
}

/// [`FunctionStats::enter_timed_local`], out of line, as [`enter_local`] is.
#[inline(never)]
pub fn enter_timed_local(stats: &'static FunctionStats) -> LocalCallGuard {
    stats.enter_timed_local()
}

/// [`FunctionStats::enter`], out of line, as [`enter_local`] is: for an `async fn`.
#[inline(never)]
pub fn enter(stats: &'static FunctionStats) -> CallGuard {
    stats.enter()
}

/// [`FunctionStats::enter_timed`], out of line, as [`enter_local`] is.
#[inline(never)]
pub fn enter_timed(stats: &'static FunctionStats) -> CallGuard {
    stats.enter_timed()
}

/// `&'static V` as the `&'static dyn Var` an [`Entry`] hands out, for `#[publish]`. A
/// function rather than a cast so a type that is not a variable fails with
/// [`PublishedStatic`]'s diagnostic, at the static's type.
#[inline]
pub fn as_var<V: PublishedStatic>(var: &'static V) -> &'static dyn Var {
    var
}

/// What the type of a `#[publish]` static must be: a [`Var`].
#[diagnostic::on_unimplemented(
    message = "`#[publish]` needs a variable type, and `{Self}` is not an expvar variable",
    label = "this type does not implement `expvar::Var`",
    note = "use a variable type such as `expvar::Counter`, `Gauge`, `Float`, `Str`, `Map<_>`, `Histogram`, or a struct with `#[derive(Expvar)]`",
    note = "or implement `expvar::Var` for `{Self}`"
)]
pub trait PublishedStatic: Var + 'static {}

impl<V: Var + 'static> PublishedStatic for V {}

/// Writes a struct field through [`Var::write`]. A function with a `V: Var` bound so
/// the error for a field that is not a variable points at the field's type.
#[inline]
pub fn write_field<V: Var + ?Sized>(field: &V, out: Writer<'_>) {
    field.write(out);
}

/// Never returns a value: generated code uses `if let Some(r) = no_value::<R>() {
/// return r; }` to tell type inference a closure or `async` block returns `R`, as the
/// function it wraps does, so `?` inside the user's body knows its error type.
#[inline(always)]
pub const fn no_value<R>() -> Option<R> {
    None
}

/// Runs the body of a `#[counted]`/`#[timed]` function that returns `Result` or
/// `Option`, so `return` and `?` inside it come back to the guard. Taking `FnOnce`
/// makes the closure `FnOnce`, so it can return borrows of what it captured
/// (`&mut self` -> `Option<&mut T>`) just as the function could.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// What `#[derive(Expvar)]` needs to create `Type::global()`: `Default`.
#[diagnostic::on_unimplemented(
    message = "`#[derive(Expvar)]` needs `{Self}: Default` to create `{Self}::global()`",
    label = "the process-wide instance is created with `Default::default()`",
    note = "add `#[derive(Default)]` to the struct, or implement `Default` for `{Self}`"
)]
pub trait Global: Sized {
    /// The value `Type::global()` starts with.
    fn create() -> Self;
}

impl<T: Default> Global for T {
    #[inline]
    fn create() -> Self {
        T::default()
    }
}

/// A field with `#[expvar(label = "...")]` or `#[expvar(labels = [..])]`: a [`Map`]
/// written with those labels.
#[diagnostic::on_unimplemented(
    message = "`#[expvar(label = ...)]` and `labels` need an `expvar::Map` field, not `{Self}`",
    label = "`label` names the keys of a `Map`",
    note = "remove `label`, or make the field an `expvar::Map<_>`"
)]
pub trait Labelled {
    /// Writes `self` with its keys named `label`.
    fn write_labelled(&self, label: &str, out: Writer<'_>);
    /// Writes `self` with the keys of each level of nested maps named by `labels`.
    fn write_labelled_levels(&self, labels: &'static [&'static str], out: Writer<'_>);
}

impl<V: Var> Labelled for Map<V> {
    #[inline]
    fn write_labelled(&self, label: &str, out: Writer<'_>) {
        self.write_with_label(label, out);
    }

    #[inline]
    fn write_labelled_levels(&self, labels: &'static [&'static str], out: Writer<'_>) {
        Var::__write_labelled(self, labels, out);
    }
}

/// `#[expvar(buckets = [..])]` on a field of a derived struct: only a [`Histogram`] has
/// bucket bounds.
#[diagnostic::on_unimplemented(
    message = "`buckets` applies to a `Histogram` field, and `{Self}` is not a `Histogram`",
    label = "`buckets` on a field that is not a `Histogram`",
    note = "remove `buckets`, or make the field an `expvar::Histogram`"
)]
pub trait Bucketed {
    /// Writes `self` with the `le` bounds `buckets`.
    fn write_with_buckets(&self, buckets: &'static [f64], out: Writer<'_>);
}

impl Bucketed for Histogram {
    #[inline]
    fn write_with_buckets(&self, buckets: &'static [f64], out: Writer<'_>) {
        self.write_with_bounds(buckets, out);
    }
}

/// `#[expvar(native)]` on a field of a derived struct: only a [`Histogram`] can be
/// served as a native histogram.
#[diagnostic::on_unimplemented(
    message = "`native` applies to a `Histogram` field, and `{Self}` is not a `Histogram`",
    label = "`native` on a field that is not a `Histogram`",
    note = "remove `native`, or make the field an `expvar::Histogram`"
)]
pub trait Native {
    /// Writes `self` as a native histogram, with the `le` bounds `buckets` if given.
    fn write_native(&self, buckets: Option<&'static [f64]>, out: Writer<'_>);
}

impl Native for Histogram {
    #[inline]
    fn write_native(&self, buckets: Option<&'static [f64]>, out: Writer<'_>) {
        Histogram::write_native(self, buckets, out);
    }
}

/// A `#[publish]` static with a doc comment: the variable, and the comment as its help
/// text (the Prometheus `HELP` line).
pub struct Documented {
    var: &'static dyn Var,
    help: &'static str,
}

impl Documented {
    /// `var` with `help`. Bounded like [`as_var`], so a type that is not a variable
    /// fails with [`PublishedStatic`]'s diagnostic.
    pub const fn new<V: PublishedStatic>(var: &'static V, help: &'static str) -> Self {
        Documented { var, help }
    }
}

impl Var for Documented {
    fn write(&self, out: Writer<'_>) {
        self.var.write(out.help(self.help));
    }

    fn __may_block(&self) -> bool {
        self.var.__may_block()
    }
}
