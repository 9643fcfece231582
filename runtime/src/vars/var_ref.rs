//! [`VarRef`]: a handle to a published variable, whichever way it was published.

use std::ops::Deref;
use std::sync::Arc;

use crate::vars::Var;

/// A handle to a published variable: a `&'static` variable or a shared `Arc`.
///
/// Dereferences to `dyn Var`. [`get`](crate::get) returns one;
/// [`publish`](crate::publish) makes one from what it is given (see [`IntoVarRef`]).
#[derive(Clone)]
pub struct VarRef(VarSource);

#[derive(Clone)]
enum VarSource {
    Static(&'static dyn Var),
    /// A link-time entry: called on each use, so a variable is only created when read
    /// and never while the registry itself is being built.
    Deferred(fn() -> &'static dyn Var),
    Shared(Arc<dyn Var>),
}

impl VarRef {
    /// A link-time entry's variable, made on each use.
    pub(crate) fn deferred(var: fn() -> &'static dyn Var) -> Self {
        VarRef(VarSource::Deferred(var))
    }
}

impl Deref for VarRef {
    type Target = dyn Var;

    fn deref(&self) -> &(dyn Var + 'static) {
        match &self.0 {
            VarSource::Static(var) => *var,
            VarSource::Deferred(var) => var(),
            VarSource::Shared(var) => &**var,
        }
    }
}

/// What [`publish`](crate::publish) accepts: a `&'static` variable, an `Arc` of one, or a [`VarRef`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be published as an expvar variable",
    label = "expected `&'static V` or `Arc<V>` where `V: expvar::Var`",
    note = "publish a variable type such as `expvar::Counter`, `Gauge`, `Map<_>`, a struct with `#[derive(Expvar)]`, or a type implementing `expvar::Var`",
    note = "a borrowed variable must be `'static` (a `static` item); share run-time instances with `Arc::new(..)`"
)]
pub trait IntoVarRef {
    /// Converts into a registry handle.
    fn into_var_ref(self) -> VarRef;
}

impl<V: Var + 'static> IntoVarRef for &'static V {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Static(self))
    }
}

impl<V: Var + 'static> IntoVarRef for Arc<V> {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Shared(self))
    }
}

impl IntoVarRef for Arc<dyn Var> {
    fn into_var_ref(self) -> VarRef {
        VarRef(VarSource::Shared(self))
    }
}

impl IntoVarRef for VarRef {
    fn into_var_ref(self) -> VarRef {
        self
    }
}
