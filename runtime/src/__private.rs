//! Not public API. Used by generated code.
//!
//! Everything the macros' expansions name lives here, so user crates need no direct
//! dependency on `inventory` or on the runtime's module layout, and no name in the
//! user's scope (`struct Option;`, `mod expvar {}`, a `macro_rules! line`) can change
//! what the generated code means.

pub use core::option::Option::{self, None, Some};
pub use core::{concat, file, line, module_path, unreachable};

pub use inventory;
pub use once_cell::sync::Lazy;

pub use crate::function::{CallGuard, FunctionEntry, FunctionInfo, FunctionStats, Outcome};
pub use crate::map::Map;
pub use crate::registry::{Entry, Site};
pub use crate::var::{ObjectWriter, Var, Writer};

/// `&'static V` as the `&'static dyn Var` an [`Entry`] hands out. A function rather
/// than a cast so a type that is not a variable fails with [`Var`]'s own diagnostic.
#[inline]
pub fn as_var<V: Var + 'static>(var: &'static V) -> &'static dyn Var {
    var
}

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

/// A field with `#[expvar(label = "...")]`: a [`Map`] written with that label.
#[diagnostic::on_unimplemented(
    message = "`#[expvar(label = ...)]` needs an `expvar::Map` field, not `{Self}`",
    label = "`label` names the keys of a `Map`",
    note = "remove `label`, or make the field an `expvar::Map<_>`"
)]
pub trait Labelled {
    /// Writes `self` with its keys named `label`.
    fn write_labelled(&self, label: &str, out: Writer<'_>);
}

impl<V: Var> Labelled for Map<V> {
    #[inline]
    fn write_labelled(&self, label: &str, out: Writer<'_>) {
        self.write_with_label(label, out);
    }
}
