//! [`Func`]: a value computed each time it is read (Go's `expvar.Func`).

use std::fmt;

use serde::Serialize;

use crate::vars::{Var, Writer};

/// A value computed by a closure each time the variable is read (Go's `expvar.Func`).
///
/// The closure may return anything `serde::Serialize`. If it panics or its value fails
/// to serialize, the variable reads as `null`, the failure is counted
/// ([`render_failures`](crate::registry::render_failures)), and every other variable is
/// unaffected. A panic does not go through the panic hook (no message or backtrace on
/// standard error each scrape); each variable's failures are logged with `log::warn!`
/// at most once a minute, with the panic's message and source location.
///
/// ```
/// use expvar::Func;
///
/// fn workers() -> usize {
///     4
/// }
///
/// // A plain function pointer makes the type nameable in a `static`.
/// static WORKERS: Func<fn() -> usize> = Func::new(workers);
/// assert_eq!(expvar::render_json(&WORKERS), "4");
///
/// // Closures work at run time; see also `expvar::publish_func`.
/// let limits = Func::new(|| serde_json::json!({"max": 10, "burst": [1, 2]}));
/// assert_eq!(expvar::render_json(&limits), r#"{"burst":[1,2],"max":10}"#);
/// ```
pub struct Func<F> {
    compute: F,
}

impl<F> Func<F> {
    /// Wraps `compute`. `const`, so a `Func` of a function pointer can be a `static`.
    pub const fn new(compute: F) -> Self {
        Func { compute }
    }
}

impl<F> fmt::Debug for Func<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Func(..)")
    }
}

impl<F, T> Var for Func<F>
where
    F: Fn() -> T + Send + Sync,
    T: Serialize,
{
    fn write(&self, out: Writer<'_>) {
        match serde_json::to_value((self.compute)()) {
            Ok(value) => out.json(&value),
            Err(error) => out.fail(&format_args!("value failed to serialize: {error}")),
        }
    }
}
