//! [`Float`]: a floating-point value (Go's `expvar.Float`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::vars::{Var, Writer};

/// A 64-bit floating-point value (Go's `expvar.Float`).
///
/// `add` never loses a concurrent update: it retries a compare-and-swap until its
/// addition lands. NaN and infinities are stored as given and written as JSON `null`.
///
/// ```
/// use expvar::Float;
///
/// static RATIO: Float = Float::new();
///
/// RATIO.set(0.5);
/// RATIO.add(0.25);
/// assert_eq!(RATIO.get(), 0.75);
/// ```
pub struct Float(AtomicU64);

impl Float {
    /// A float at `0.0`. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        // 0.0_f64 is all zero bits.
        Float(AtomicU64::new(0))
    }

    /// Replaces the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    /// Adds `delta` atomically.
    #[inline]
    pub fn add(&self, delta: f64) {
        // `fetch_update` retries until no other thread changed the value in between.
        let _ = self.0.fetch_update(Relaxed, Relaxed, |bits| {
            Some((f64::from_bits(bits) + delta).to_bits())
        });
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }
}

impl Default for Float {
    fn default() -> Self {
        Float::new()
    }
}

impl fmt::Debug for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Float").field(&self.get()).finish()
    }
}

impl Var for Float {
    fn write(&self, out: Writer<'_>) {
        out.float(self.get());
    }

    fn __writes_without_locks() -> bool {
        true
    }

    fn __may_block(&self) -> bool {
        false
    }
}
