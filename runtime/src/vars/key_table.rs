//! What a [`Map`](crate::Map) of counters keeps for its scrapes: its keys in order.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::vars::CounterEntries;

/// A map's keys in order, each with whether a format would escape any of its bytes, and
/// their values: what a scrape of a map of counters walks instead of the tree. Rebuilt
/// after the entries change, so a map whose keys settle is written without visiting its
/// tree or looking at each key's bytes again.
pub(crate) struct KeyTable<V> {
    /// Every key, one after another.
    keys: String,
    /// Where each key starts in `keys`, and where the last one ends.
    starts: Vec<usize>,
    /// Per key: no byte a format escapes (a control character, `"` or `\`).
    plain: Vec<bool>,
    pub(crate) values: Vec<Arc<V>>,
}

impl<V> KeyTable<V> {
    pub(crate) fn new(entries: &BTreeMap<String, Arc<V>>) -> Self {
        let mut table = KeyTable {
            keys: String::with_capacity(entries.keys().map(String::len).sum()),
            starts: Vec::with_capacity(entries.len() + 1),
            plain: Vec::with_capacity(entries.len()),
            values: Vec::with_capacity(entries.len()),
        };
        table.starts.push(0);
        for (key, value) in entries {
            table.keys.push_str(key);
            table.starts.push(table.keys.len());
            table.plain.push(
                !key.bytes()
                    .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\'),
            );
            table.values.push(Arc::clone(value));
        }
        table
    }

    /// The entries with their totals, `totals[i]` for the `i`th.
    pub(crate) fn with_totals<'t>(&'t self, totals: &'t [u64]) -> CounterEntries<'t> {
        // SAFETY: `starts` holds 0 and the end of each whole key pushed onto `keys`.
        unsafe { CounterEntries::new(&self.keys, &self.starts, &self.plain, totals) }
    }
}
