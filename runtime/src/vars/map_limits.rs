//! The bounds of every [`Map`](crate::Map): how many keys it holds and how long a key
//! may be, past which new keys are counted under
//! [`OVERFLOW_KEY`](crate::vars::OVERFLOW_KEY).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The key limit of a [`Map`](crate::Map) created without one, unless
/// [`set_default_map_limit`] changes it: 2,000, OpenTelemetry's default.
pub const DEFAULT_MAP_LIMIT: usize = 2000;

static DEFAULT_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_MAP_LIMIT);

/// Sets the key limit of every [`Map`](crate::Map) created without one (default
/// [`DEFAULT_MAP_LIMIT`]).
///
/// A map reads it when it first needs its limit (its first new key, or
/// [`Map::limit`](crate::Map::limit)) and keeps that value, so set it at startup, before maps fill.
///
/// ```
/// expvar::vars::set_default_map_limit(10_000);
/// assert_eq!(expvar::vars::default_map_limit(), 10_000);
/// let map: expvar::Map<expvar::Counter> = expvar::Map::new();
/// assert_eq!(map.limit(), 10_000);
/// # expvar::vars::set_default_map_limit(expvar::vars::DEFAULT_MAP_LIMIT);
/// ```
pub fn set_default_map_limit(limit: usize) {
    DEFAULT_LIMIT.store(limit, Relaxed);
}

/// The key limit a [`Map`](crate::Map) created without one takes (see [`set_default_map_limit`]).
pub fn default_map_limit() -> usize {
    DEFAULT_LIMIT.load(Relaxed)
}

/// The longest key, in bytes, a [`Map`](crate::Map) stores unless
/// [`set_max_map_key_bytes`] changes it: 256.
pub const DEFAULT_MAX_MAP_KEY_BYTES: usize = 256;

static MAX_KEY_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_MAP_KEY_BYTES);

/// Sets the longest key, in bytes, any [`Map`](crate::Map) stores (default
/// [`DEFAULT_MAX_MAP_KEY_BYTES`]); a longer new key is counted under
/// [`OVERFLOW_KEY`](crate::vars::OVERFLOW_KEY). Keys already stored are kept.
///
/// ```
/// use expvar::{Counter, Map};
///
/// expvar::vars::set_max_map_key_bytes(4);
/// let map: Map<Counter> = Map::new();
/// map.inc("abcd");
/// map.inc("abcde");
/// assert_eq!(map.keys(), ["__overflow__", "abcd"]);
/// # expvar::vars::set_max_map_key_bytes(expvar::vars::DEFAULT_MAX_MAP_KEY_BYTES);
/// ```
pub fn set_max_map_key_bytes(bytes: usize) {
    MAX_KEY_BYTES.store(bytes, Relaxed);
}

/// The longest key, in bytes, a [`Map`](crate::Map) stores (see
/// [`set_max_map_key_bytes`]).
pub fn max_map_key_bytes() -> usize {
    MAX_KEY_BYTES.load(Relaxed)
}
