//! [`Gauge`]: a signed integer (Go's `expvar.Int`).

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use crate::vars::{Var, Writer};

/// A signed integer that can go up and down, such as items in a queue (Go's `expvar.Int`).
///
/// One atomic word: every operation is a single lock-free atomic instruction.
///
/// ```
/// use expvar::Gauge;
///
/// static QUEUE_DEPTH: Gauge = Gauge::new();
///
/// QUEUE_DEPTH.add(5);
/// QUEUE_DEPTH.dec();
/// QUEUE_DEPTH.sub(2);
/// assert_eq!(QUEUE_DEPTH.get(), 2);
/// QUEUE_DEPTH.set(-1);
/// assert_eq!(QUEUE_DEPTH.get(), -1);
/// ```
#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// A gauge at zero. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Gauge(AtomicI64::new(0))
    }

    /// Replaces the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.0.store(value, Relaxed);
    }

    /// Adds `delta` (which may be negative), wrapping on overflow.
    #[inline]
    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Relaxed);
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: i64) {
        self.0.fetch_sub(delta, Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.sub(1);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Gauge").field(&self.get()).finish()
    }
}

impl Var for Gauge {
    fn write(&self, out: Writer<'_>) {
        out.gauge(self.get());
    }

    fn __writes_without_locks() -> bool {
        true
    }

    fn __may_block(&self) -> bool {
        false
    }
}
