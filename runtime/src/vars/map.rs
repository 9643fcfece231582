//! [`Map`]: keyed sub-variables (Go's `expvar.Map`).
//!
//! A little over 600 lines, about 120 of them tests: the entries, their limit, the
//! per-thread entry cache's stamp and the key order kept for scrapes change together,
//! under one lock.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::slots;
use crate::vars::counter::Counter;
use crate::vars::entry_cache::{self, Cached, Stamp};
use crate::vars::float::Float;
use crate::vars::gauge::Gauge;
use crate::vars::key_table::KeyTable;
use crate::vars::map_limits::{default_map_limit, max_map_key_bytes};
use crate::vars::{Var, Writer};

thread_local! {
    /// The totals of a map of counters being written (see `write_levels`).
    static COUNTER_TOTALS: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
}

/// The label name a [`Map`] uses unless told otherwise.
pub const DEFAULT_LABEL: &str = "key";

/// The key under which a [`Map`] counts every key beyond its [limit](Map#key-limit).
pub const OVERFLOW_KEY: &str = "__overflow__";

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
///
/// # Speed
/// `add` on a key the calling thread has added to before takes no lock: each thread
/// keeps a small cache of map entries (32, keys of up to 24 bytes), checked against a
/// stamp the map renews on `set`, `remove` and `clear`, so a cached entry is never
/// used once its key may mean another. An entry the cache holds stays alive until it
/// is replaced or the thread exits, so an `add` racing a `remove` counts in the removed
/// entry, as if it had come first. Other operations take the map's lock.
///
/// A map of counters is written (to `/debug/vars`, `/metrics`, the dashboard) from a
/// copy of its keys in order, kept until its entries next change: a second copy of the
/// keys and a pointer per entry, in exchange for a scrape that neither walks the tree
/// nor looks at each key's bytes again.
///
/// # Key limit
/// A map keyed by outside input (paths, user names, hosts) could otherwise grow without
/// bound, in memory and in series on `/metrics`. So each map holds at most
/// [`limit`](Map::limit) keys: [`DEFAULT_MAP_LIMIT`](crate::vars::DEFAULT_MAP_LIMIT) (2,000), or the process default
/// set by [`set_default_map_limit`](crate::vars::set_default_map_limit), or its own from [`with_limit`](Map::with_limit) /
/// [`limited`](Map::limited). Past the limit, a new key goes to the one entry
/// [`OVERFLOW_KEY`] (`"__overflow__"`) instead: adds are counted there, so the values
/// still sum to everything added, and `get_or_create` and `set` use that entry. The
/// first overflow of each map is logged (`log::warn!`). Keys already in the map keep
/// working; [`remove`](Map::remove) and [`clear`](Map::clear) make room again.
///
/// Keys are bounded in size too: a new key longer than
/// [`max_map_key_bytes`](crate::vars::max_map_key_bytes) (256 bytes, or what
/// [`set_max_map_key_bytes`](crate::vars::set_max_map_key_bytes) set) goes to
/// [`OVERFLOW_KEY`] as well (logged once per map), so a map holds at most its limit
/// times that many bytes of keys, and `/metrics` never carries a longer label value.
///
/// ```
/// use expvar::{Counter, Map};
///
/// static BY_HOST: Map<Counter> = Map::with_label("host").limited(2);
///
/// for host in ["a", "b", "c", "d", "a"] {
///     BY_HOST.inc(host);
/// }
/// assert_eq!(BY_HOST.keys(), ["__overflow__", "a", "b"]);
/// assert_eq!(BY_HOST.get(expvar::vars::OVERFLOW_KEY).unwrap().get(), 2);
/// BY_HOST.inc(&"x".repeat(1000));
/// assert_eq!(BY_HOST.get(expvar::vars::OVERFLOW_KEY).unwrap().get(), 3);
/// ```
pub struct Map<V> {
    label: &'static str,
    /// Label names of the maps nested in this one, outermost first (`with_labels`).
    nested: &'static [&'static str],
    entries: RwLock<BTreeMap<String, Arc<V>>>,
    /// Set by `with_limit`/`limited`; otherwise the process default, read once.
    limit: Option<usize>,
    default_limit: OnceLock<usize>,
    overflow_logged: AtomicBool,
    long_key_logged: AtomicBool,
    /// Tells this thread's cached entries of the map from stale ones (`entry_cache`).
    stamp: Stamp,
    /// The entries in order, for writing a map of counters; dropped whenever the write
    /// lock is taken, rebuilt by the next write.
    table: RwLock<Option<Arc<KeyTable<V>>>>,
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
            nested: &[],
            entries: RwLock::new(BTreeMap::new()),
            limit: None,
            default_limit: OnceLock::new(),
            overflow_logged: AtomicBool::new(false),
            long_key_logged: AtomicBool::new(false),
            stamp: Stamp::new(),
            table: RwLock::new(None),
        }
    }

    /// An empty map labelled `"key"` that holds at most `limit` keys (see
    /// [Key limit](Map#key-limit)). `const`, so it can initialize a `static`.
    ///
    /// ```
    /// static PER_USER: expvar::Map<expvar::Counter> = expvar::Map::with_limit(100);
    /// assert_eq!(PER_USER.limit(), 100);
    /// ```
    pub const fn with_limit(limit: usize) -> Self {
        Map::new().limited(limit)
    }

    /// This map, holding at most `limit` keys (see [Key limit](Map#key-limit)).
    /// `const`, to follow another constructor in a `static`:
    /// `Map::with_label("route").limited(500)`.
    pub const fn limited(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The most keys this map holds besides [`OVERFLOW_KEY`].
    pub fn limit(&self) -> usize {
        self.limit
            .unwrap_or_else(|| *self.default_limit.get_or_init(default_map_limit))
    }

    /// Whether `entries` has no room for another key (the overflow entry aside).
    fn is_full(&self, entries: &BTreeMap<String, Arc<V>>) -> bool {
        let keys = entries.len() - usize::from(entries.contains_key(OVERFLOW_KEY));
        keys >= self.limit()
    }

    /// The key a new `key` is stored under: itself, or [`OVERFLOW_KEY`] when full or
    /// when the key is too long.
    fn key_for_new<'k>(&self, entries: &BTreeMap<String, Arc<V>>, key: &'k str) -> &'k str {
        if entries.contains_key(key) {
            return key;
        }
        if key.len() > max_map_key_bytes() {
            if !self.long_key_logged.swap(true, Relaxed) {
                log::warn!(
                    "expvar: a map labelled {:?} was given a key of {} bytes, over the \
                     limit of {}; such keys are counted under {OVERFLOW_KEY:?}",
                    self.label,
                    key.len(),
                    max_map_key_bytes()
                );
            }
            return OVERFLOW_KEY;
        }
        if !self.is_full(entries) {
            return key;
        }
        if !self.overflow_logged.swap(true, Relaxed) {
            log::warn!(
                "expvar: a map labelled {:?} reached its limit of {} keys; \
                 new keys are counted under {OVERFLOW_KEY:?}",
                self.label,
                self.limit()
            );
        }
        OVERFLOW_KEY
    }

    /// An empty map of maps whose levels of keys are the labels `labels`, outermost
    /// first, so a nested map's keys are not all named `key`:
    ///
    /// ```
    /// use expvar::{Counter, Map};
    ///
    /// static RESPONSES: Map<Map<Counter>> = Map::with_labels(&["method", "status"]);
    ///
    /// RESPONSES.get_or_create("GET").inc("200");
    /// expvar::publish("responses", &RESPONSES).unwrap();
    /// assert!(expvar::to_prometheus().contains(r#"responses_total{method="GET",status="200"} 1"#));
    /// ```
    ///
    /// An empty list is [`Map::new`]; levels past the end of the list keep their own
    /// label.
    pub const fn with_labels(labels: &'static [&'static str]) -> Self {
        match labels.split_first() {
            Some((label, nested)) => Map {
                label,
                nested,
                entries: RwLock::new(BTreeMap::new()),
                limit: None,
                default_limit: OnceLock::new(),
                overflow_logged: AtomicBool::new(false),
                long_key_logged: AtomicBool::new(false),
                stamp: Stamp::new(),
                table: RwLock::new(None),
            },
            None => Map::new(),
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

    /// The entry for `key`, created with `V::default()` if there is none. Past the
    /// [limit](Map#key-limit), a new key gets the [`OVERFLOW_KEY`] entry.
    pub fn get_or_create(&self, key: &str) -> Arc<V>
    where
        V: Default,
    {
        if let Some(existing) = self.read().get(key) {
            return Arc::clone(existing);
        }
        let mut entries = self.write();
        let key = self.key_for_new(&entries, key);
        Arc::clone(
            entries
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(V::default())),
        )
    }

    /// Sets the entry for `key`, replacing any previous one.
    pub fn set(&self, key: impl Into<String>, value: V) {
        self.set_arc(key, Arc::new(value));
    }

    /// Sets the entry for `key` to a shared variable, replacing any previous one. Past
    /// the [limit](Map#key-limit), a new key sets the [`OVERFLOW_KEY`] entry.
    pub fn set_arc(&self, key: impl Into<String>, value: Arc<V>) {
        let key = key.into();
        let mut entries = self.write();
        self.stamp.renew();
        if self.key_for_new(&entries, &key) == key {
            entries.insert(key, value);
        } else {
            entries.insert(OVERFLOW_KEY.to_owned(), value);
        }
    }

    /// Removes the entry for `key` and returns it.
    pub fn remove(&self, key: &str) -> Option<Arc<V>> {
        let mut entries = self.write();
        self.stamp.renew();
        entries.remove(key)
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let mut entries = self.write();
        self.stamp.renew();
        entries.clear();
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
    /// path (this thread used the entry before) takes no lock; the next one takes only
    /// the read lock and caches the entry for this thread.
    #[inline]
    fn with_entry(&self, key: &str, update: impl FnOnce(&V, Option<&slots::Slot>))
    where
        V: Default + Cached,
    {
        // SAFETY: the updates are the adds below, which do not use the cache.
        let Err(update) = (unsafe { entry_cache::with_cached(&self.stamp, key, update) }) else {
            return;
        };
        {
            let entries = self.read();
            if let Some(existing) = entries.get(key) {
                entry_cache::fill(&self.stamp, key, existing);
                update(existing, None);
                return;
            }
            // Full or too long, with the overflow entry made: count there without the
            // write lock, so a flood of new keys does not serialize on it.
            let full = self.overflow_logged.load(Relaxed) && self.is_full(&entries);
            if full || key.len() > max_map_key_bytes() {
                if let Some(overflow) = entries.get(OVERFLOW_KEY) {
                    update(overflow, None);
                    return;
                }
            }
        }
        update(&self.get_or_create(key), None);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<V>>> {
        // Map operations never panic while holding the lock; don't let poison spread.
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entries, to change: what a scrape kept of them is dropped (under this lock,
    /// so no scrape can keep a table of the entries from before the change).
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<V>>> {
        let entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = None;
        entries
    }

    /// The entries in order, from the table kept since they last changed, or a new one.
    fn key_table(&self) -> Arc<KeyTable<V>> {
        let kept = self.table.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(table) = &*kept {
            return Arc::clone(table);
        }
        drop(kept);
        // Built and kept under the read lock of the entries, which a change must take
        // for writing: a table is never kept from before a change.
        let entries = self.read();
        let table = Arc::new(KeyTable::new(&entries));
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&table));
        table
    }
}

impl Map<Counter> {
    /// Adds `n` to the counter at `key`, creating it at zero first (Go's `Map.Add`).
    #[inline]
    pub fn add(&self, key: &str, n: u64) {
        // A cached entry comes with this thread's slot of the counter: add there.
        self.with_entry(key, |counter, slot| match slot {
            Some(slot) => slots::add_to(slot, n),
            None => counter.add(n),
        });
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
        self.with_entry(key, |gauge, _| gauge.add(delta));
    }
}

impl Map<Float> {
    /// Adds `delta` to the float at `key`, creating it at zero first (Go's `Map.AddFloat`).
    #[inline]
    pub fn add(&self, key: &str, delta: f64) {
        self.with_entry(key, |float, _| float.add(delta));
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
        self.write_levels(label, self.nested, out);
    }

    /// Writes the map with keys named `label`, handing `nested` to the values.
    fn write_levels(&self, label: &str, nested: &[&'static str], out: Writer<'_>) {
        if V::__writes_without_locks() {
            // A buffer kept per thread, so that a dashboard tick allocates nothing; taken
            // out while in use, so a nested map simply starts its own.
            let mut totals = COUNTER_TOTALS.try_with(Cell::take).unwrap_or_default();
            totals.clear();
            // Counters are read together (a type that is not says so, with no values),
            // from the entries as the table keeps them.
            if V::__read_counters(std::iter::empty(), &mut totals) {
                let table = self.key_table();
                V::__read_counters(table.values.iter().map(|value| &**value), &mut totals);
                out.map(label, |entries| {
                    entries.counters(table.with_totals(&totals))
                });
                let _ = COUNTER_TOTALS.try_with(|kept| kept.set(totals));
                return;
            }
            // Gauges and the like cannot re-enter this map: write them under the read
            // lock, without an `Arc` clone and drop per entry.
            let map = self.read();
            out.map(label, |entries| {
                for (key, value) in map.iter() {
                    (**value).__write_labelled(nested, entries.entry(key));
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
                (**value).__write_labelled(nested, map.entry(&keys[start..*end]));
                start = *end;
            }
        });
    }
}

impl<V: Var> Var for Map<V> {
    fn write(&self, out: Writer<'_>) {
        self.write_with_label(self.label, out);
    }

    fn __write_labelled(&self, labels: &[&'static str], out: Writer<'_>) {
        match labels.split_first() {
            Some((label, nested)) => self.write_levels(label, nested, out),
            None => Var::write(self, out),
        }
    }

    // The map's own lock is held only to copy its entries out; values of these types
    // run no user code.
    fn __may_block(&self) -> bool {
        !V::__writes_without_locks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::{Describe, Distribution, Encode, Exemplar, NativeBuckets};

    #[test]
    fn a_map_of_counters_renders_its_entries_as_they_are_after_each_change() {
        let map: Map<Counter> = Map::new();
        map.add("b", 1);
        assert_eq!(crate::render_json(&map), r#"{"b": 1}"#);
        map.add("b", 1); // no new key: the kept table serves
        map.add("a\"q", 5);
        assert_eq!(crate::render_json(&map), r#"{"a\"q": 5, "b": 2}"#);
        map.set("b", Counter::new());
        assert_eq!(crate::render_json(&map), r#"{"a\"q": 5, "b": 0}"#);
        map.remove("a\"q");
        assert_eq!(crate::render_json(&map), r#"{"b": 0}"#);
        map.clear();
        assert_eq!(crate::render_json(&map), "{}");
    }

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
        fn distribution(
            &mut self,
            _: &Distribution<'_>,
            _: Option<&NativeBuckets<'_>>,
            _: &[Exemplar<'_>],
        ) {
        }
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
    fn adds_after_a_key_changes_never_reach_the_old_entry() {
        let map: Map<Counter> = Map::new();
        map.add("GET", 1);
        map.add("GET", 1); // cached by now
        let old = map.remove("GET").unwrap();
        map.add("GET", 5);
        assert_eq!(old.get(), 2);
        assert_eq!(map.get("GET").unwrap().get(), 5);

        let replacement = Arc::new(Counter::new());
        map.add("GET", 1);
        map.set_arc("GET", Arc::clone(&replacement));
        map.add("GET", 7);
        assert_eq!(replacement.get(), 7);

        map.add("GET", 1);
        map.clear();
        map.add("GET", 3);
        assert_eq!(map.get("GET").unwrap().get(), 3);
        assert_eq!(replacement.get(), 8);
    }

    #[test]
    fn threads_adding_through_their_caches_count_exactly() {
        let map: Map<Counter> = Map::new();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for round in 0..1000 {
                        map.add(
                            ["GET", "PUT", "a-key-too-long-to-be-cached-at-all"][round % 3],
                            1,
                        );
                    }
                });
            }
        });
        let counts: Vec<u64> = map.entries().iter().map(|(_, c)| c.get()).collect();
        assert_eq!(counts, [1336, 1332, 1332]);
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

    #[test]
    fn with_labels_names_every_level() {
        let map: Map<Map<Map<Counter>>> = Map::with_labels(&["method", "status"]);
        map.get_or_create("GET").get_or_create("200").inc("a");
        let mut labels = Labels::default();
        Var::write(&map, Writer::new(&mut labels));
        // The third level is past the list: it keeps its own label.
        assert_eq!(labels.0, ["method", "status", "key"]);

        let mut labels = Labels::default();
        map.write_with_label("verb", Writer::new(&mut labels));
        assert_eq!(labels.0, ["verb", "status", "key"]);

        let empty: Map<Counter> = Map::with_labels(&[]);
        assert_eq!(empty.label(), DEFAULT_LABEL);
    }
}
