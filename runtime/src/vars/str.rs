//! [`Str`]: a string value (Go's `expvar.String`).

use std::fmt;
use std::sync::{PoisonError, RwLock};

use crate::vars::{Var, Writer};

/// A string value, such as a version or a mode (Go's `expvar.String`).
///
/// ```
/// use expvar::Str;
///
/// static MODE: Str = Str::new();
///
/// MODE.set("draining");
/// assert_eq!(MODE.get(), "draining");
/// assert_eq!(expvar::render_json(&MODE), r#""draining""#);
/// ```
#[derive(Default)]
pub struct Str(RwLock<String>);

impl Str {
    /// An empty string. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Str(RwLock::new(String::new()))
    }

    /// Replaces the value.
    pub fn set(&self, value: impl Into<String>) {
        let value = value.into();
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = value;
    }

    /// A copy of the current value.
    pub fn get(&self) -> String {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Str").field(&self.get()).finish()
    }
}

impl Var for Str {
    fn write(&self, out: Writer<'_>) {
        out.str(&self.0.read().unwrap_or_else(PoisonError::into_inner));
    }

    fn __may_block(&self) -> bool {
        false
    }
}
