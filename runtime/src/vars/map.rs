//! [`Map`]: keyed sub-variables (Go's `expvar.Map`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use crate::vars::counter::Counter;
use crate::vars::float::Float;
use crate::vars::gauge::Gauge;
use crate::vars::{Var, Writer};

/// The label name a [`Map`] uses unless told otherwise.
pub const DEFAULT_LABEL: &str = "key";

/// Variables keyed by string, such as results per API (Go's `expvar.Map`).
///
/// Entries are created on first use and iterated in sorted key order. Each map carries
/// a label name (default `"key"`) that names the dimension in formats with labels,
/// such as Prometheus (`api_results{result="fail"}`).
///
/// ```
/// use expvar::{Counter, Map};
///
/// static API_RESULTS: Map<Counter> = Map::with_label("result");
///
/// API_RESULTS.add("success", 5);
/// API_RESULTS.add("fail", 2);
/// API_RESULTS.get_or_create("success").inc();
///
/// assert_eq!(API_RESULTS.get("success").unwrap().get(), 6);
/// assert_eq!(API_RESULTS.keys(), ["fail", "success"]);
/// assert_eq!(expvar::render_json(&API_RESULTS), r#"{"fail": 2, "success": 6}"#);
/// ```
pub struct Map<V> {
    label: &'static str,
    entries: RwLock<BTreeMap<String, Arc<V>>>,
}

impl<V> Map<V> {
    /// An empty map labelled `"key"`. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Map::with_label(DEFAULT_LABEL)
    }

    /// An empty map whose keys are the label `label`.
    pub const fn with_label(label: &'static str) -> Self {
        Map {
            label,
            entries: RwLock::new(BTreeMap::new()),
        }
    }

    /// The label name of the keys.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The entry for `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        self.read().get(key).cloned()
    }

    /// The entry for `key`, created with `V::default()` if there is none.
    pub fn get_or_create(&self, key: &str) -> Arc<V>
    where
        V: Default,
    {
        if let Some(existing) = self.read().get(key) {
            return Arc::clone(existing);
        }
        Arc::clone(
            self.write()
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(V::default())),
        )
    }

    /// Sets the entry for `key`, replacing any previous one.
    pub fn set(&self, key: impl Into<String>, value: V) {
        self.set_arc(key, Arc::new(value));
    }

    /// Sets the entry for `key` to a shared variable, replacing any previous one.
    pub fn set_arc(&self, key: impl Into<String>, value: Arc<V>) {
        self.write().insert(key.into(), value);
    }

    /// Removes the entry for `key` and returns it.
    pub fn remove(&self, key: &str) -> Option<Arc<V>> {
        self.write().remove(key)
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.write().clear();
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The entries, sorted by key. The map is not locked while you use them.
    pub fn entries(&self) -> Vec<(String, Arc<V>)> {
        self.read()
            .iter()
            .map(|(key, value)| (key.clone(), Arc::clone(value)))
            .collect()
    }

    /// Calls `visit` for each entry in sorted key order (Go's `Map.Do`).
    ///
    /// Works on a snapshot, so `visit` may use the map itself.
    pub fn for_each(&self, mut visit: impl FnMut(&str, &V)) {
        for (key, value) in self.entries() {
            visit(&key, &value);
        }
    }

    /// Applies `update` to the entry for `key`, creating it first if needed. The hot
    /// path (the entry exists) takes only the read lock and clones nothing.
    #[inline]
    fn with_entry(&self, key: &str, update: impl FnOnce(&V))
    where
        V: Default,
    {
        {
            let entries = self.read();
            if let Some(existing) = entries.get(key) {
                update(existing);
                return;
            }
        }
        update(&self.get_or_create(key));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<V>>> {
        // Map operations never panic while holding the lock; don't let poison spread.
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<V>>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Map<Counter> {
    /// Adds `n` to the counter at `key`, creating it at zero first (Go's `Map.Add`).
    #[inline]
    pub fn add(&self, key: &str, n: u64) {
        self.with_entry(key, |counter| counter.add(n));
    }

    /// Adds one to the counter at `key`.
    #[inline]
    pub fn inc(&self, key: &str) {
        self.add(key, 1);
    }
}

impl Map<Gauge> {
    /// Adds `delta` to the gauge at `key`, creating it at zero first (Go's `Map.Add`).
    #[inline]
    pub fn add(&self, key: &str, delta: i64) {
        self.with_entry(key, |gauge| gauge.add(delta));
    }
}

impl Map<Float> {
    /// Adds `delta` to the float at `key`, creating it at zero first (Go's `Map.AddFloat`).
    #[inline]
    pub fn add(&self, key: &str, delta: f64) {
        self.with_entry(key, |float| float.add(delta));
    }
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.read().iter()).finish()
    }
}

impl<V: Var> Map<V> {
    /// Writes the map as [`Var::write`] does, naming its keys `label` instead of the
    /// map's own label.
    ///
    /// `#[derive(Expvar)]` calls it for a field marked `#[expvar(label = "...")]`, so
    /// a map created with `Default` still gets its label:
    ///
    /// ```
    /// use expvar::{Counter, Map, Var, Writer};
    ///
    /// struct Responses(Map<Counter>);
    ///
    /// impl Var for Responses {
    ///     fn write(&self, out: Writer<'_>) {
    ///         self.0.write_with_label("status", out);
    ///     }
    /// }
    ///
    /// let responses = Responses(Map::new());
    /// responses.0.inc("200");
    /// assert_eq!(expvar::render_json(&responses), r#"{"200": 1}"#);
    /// ```
    pub fn write_with_label(&self, label: &str, out: Writer<'_>) {
        if V::__writes_without_locks() {
            // Counters, gauges and the like cannot re-enter this map: write them under
            // the read lock, without an `Arc` clone and drop per entry.
            let map = self.read();
            out.map(label, |entries| {
                for (key, value) in map.iter() {
                    entries.entry(key).var(&**value);
                }
            });
            return;
        }
        // Any other value is written outside our lock, from a snapshot: its `write` may
        // run user code that uses this map. The keys go into one buffer rather than a
        // `String` each: a scrape of a large map then allocates a few times, not once per
        // entry.
        let (keys, entries) = {
            let map = self.read();
            let mut keys = String::with_capacity(map.keys().map(String::len).sum());
            let mut entries = Vec::with_capacity(map.len());
            for (key, value) in map.iter() {
                keys.push_str(key);
                entries.push((keys.len(), Arc::clone(value)));
            }
            (keys, entries)
        };
        out.map(label, |map| {
            let mut start = 0;
            for (end, value) in &entries {
                map.entry(&keys[start..*end]).var(&**value);
                start = *end;
            }
        });
    }
}

impl<V: Var> Var for Map<V> {
    fn write(&self, out: Writer<'_>) {
        self.write_with_label(self.label, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::{Describe, Distribution, Encode};

    /// Records the labels of the maps written to it.
    #[derive(Default)]
    struct Labels(Vec<String>);

    impl Encode for Labels {
        fn counter(&mut self, _: u64) {}
        fn counter_f64(&mut self, _: f64) {}
        fn gauge(&mut self, _: i64) {}
        fn float(&mut self, _: f64) {}
        fn str(&mut self, _: &str) {}
        fn bool(&mut self, _: bool) {}
        fn null(&mut self) {}
        fn describe(&mut self, _: Describe<'_>) {}
        fn distribution(&mut self, _: &Distribution<'_>) {}
        fn json(&mut self, _: &serde_json::Value) {}
        fn fail(&mut self, _: &dyn fmt::Display) {}
        fn begin_object(&mut self) {}
        fn field(&mut self, _: &str) {}
        fn end_object(&mut self) {}
        fn begin_map(&mut self, label: &str) {
            self.0.push(label.to_owned());
        }
        fn entry(&mut self, _: &str) {}
        fn end_map(&mut self) {}
    }

    #[test]
    fn write_with_label_overrides_the_label() {
        let map: Map<Counter> = Map::new();
        map.inc("a");
        let mut labels = Labels::default();
        Var::write(&map, Writer::new(&mut labels));
        map.write_with_label("status", Writer::new(&mut labels));
        assert_eq!(labels.0, ["key", "status"]);
    }
}
