//! Samples for the live dashboard: the registry flattened into numeric leaves.
//!
//! Each leaf is a path of segments (`["memstats", "HeapInuse"]`), the kind of value the
//! variable wrote (a counter is charted as a rate, a gauge as a value) and the value.
//! Strings, booleans and nulls are not charted and are left out.

use super::{failures, Document, Skip};
use crate::vars::VarRef;
use crate::vars::{
    Describe, Distribution, Encode, Exemplar, NativeBuckets, Statistic, Var, View, Writer,
};

/// The most leaves one sample holds; the rest of a huge registry is left out so a
/// sample stays small enough to send every second.
pub(crate) const MAX_LEAVES: usize = 4096;
/// Longer arrays inside JSON values are not charted: Go's `memstats.PauseNs` and
/// `PauseEnd` rings are 256 zeros each, while `BySize` (61 classes) is kept.
const MAX_ARRAY_LEN: usize = 64;

/// What a variable said a leaf is, which decides how the dashboard charts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LeafKind {
    /// Only goes up: charted as a rate per second.
    Counter,
    /// Goes up and down: charted as its value.
    Gauge,
    /// A floating-point value: charted as its value.
    Float,
    /// A statistic of a histogram (mean, min, max, a quantile): charted as its value.
    Quantile,
    /// A number inside a JSON value, whose kind nobody said: charted as its value.
    Number,
}

impl LeafKind {
    /// The one-letter code the dashboard page reads.
    pub(crate) fn code(self) -> char {
        match self {
            LeafKind::Counter => 'c',
            LeafKind::Gauge => 'g',
            LeafKind::Float => 'f',
            LeafKind::Quantile => 'q',
            LeafKind::Number => 'n',
        }
    }
}

/// Where a leaf is and what kind it is: the shape of one value of a sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeafKey {
    /// The variable's name, then one segment per field or map key down to the value.
    pub(crate) path: Vec<String>,
    /// Bit `i` is set when `path[i]` is a key of a [`Map`](crate::Map) rather than a
    /// field name, so the page can draw one series per key.
    pub(crate) map_keys: u64,
    pub(crate) kind: LeafKind,
}

/// One registry snapshot, flattened.
#[derive(Debug)]
pub(crate) struct Flattened {
    /// The numbers, in registry order. Not finite for a value that could not be read
    /// (the page shows a gap).
    pub(crate) values: Vec<f64>,
    /// The shape of `values`; `None` when it is the `previous` shape given to
    /// [`flatten`], which is then not built again.
    pub(crate) keys: Option<Vec<LeafKey>>,
}

/// Flattens `vars` into numbers, in registry order. A variable whose `write` panics
/// contributes nothing; the others are unaffected.
///
/// While the registry keeps the `previous` shape (the usual case, once a second), this
/// allocates only the array of values: each leaf's path is compared in place.
#[cfg(test)]
pub(crate) fn flatten(
    vars: &[(impl AsRef<str>, VarRef)],
    previous: Option<&[LeafKey]>,
) -> Flattened {
    flatten_with(vars, previous, &mut Buffers::default())
}

/// What [`flatten_with`] writes into, kept by the sampler from one tick to the next so
/// a sample of an unchanged registry allocates nothing once they have grown.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// The values of the last sample; hand them back after use.
    pub(crate) values: Vec<f64>,
    path: String,
    segments: Vec<(usize, bool)>,
}

/// [`flatten`], reusing `buffers`: `Flattened::values` is `buffers.values`, taken.
pub(crate) fn flatten_with(
    vars: &[(impl AsRef<str>, VarRef)],
    previous: Option<&[LeafKey]>,
    buffers: &mut Buffers,
) -> Flattened {
    let mut values = std::mem::take(&mut buffers.values);
    values.clear();
    values.reserve(previous.map_or(64, <[LeafKey]>::len));
    let encoder = SampleEncoder {
        values,
        previous: previous.unwrap_or_default(),
        keys: previous.is_none().then(Vec::new),
        path: std::mem::take(&mut buffers.path),
        segments: std::mem::take(&mut buffers.segments),
        skip: Skip::default(),
        buffers,
    };
    super::render(vars, encoder)
}

impl Document for SampleEncoder<'_> {
    type Output = Flattened;

    fn variable(&mut self, name: &str, var: &dyn Var) {
        self.write_isolated(name, var);
    }

    fn is_full(&self) -> bool {
        self.values.len() >= MAX_LEAVES
    }

    fn finish(self) -> Flattened {
        let keys = match self.keys {
            Some(keys) => Some(keys),
            None if self.values.len() == self.previous.len() => None,
            // Same leaves as before, but fewer of them.
            None => Some(self.previous[..self.values.len()].to_vec()),
        };
        self.buffers.path = self.path;
        self.buffers.segments = self.segments;
        Flattened {
            values: self.values,
            keys,
        }
    }
}

struct SampleEncoder<'a> {
    values: Vec<f64>,
    /// The shape of the last sample, compared leaf by leaf.
    previous: &'a [LeafKey],
    /// Built from the first leaf that differs from `previous` on (all of it without one).
    keys: Option<Vec<LeafKey>>,
    /// The segments down to the value being written, one after the other...
    path: String,
    /// ...each starting here, with whether it is a map key.
    segments: Vec<(usize, bool)>,
    /// A metrics-only value being left out.
    skip: Skip,
    /// Where `path` and `segments` go back when the sample is done.
    buffers: &'a mut Buffers,
}

impl SampleEncoder<'_> {
    fn write_isolated(&mut self, name: &str, var: &dyn Var) {
        let start = self.values.len();
        // Whether every leaf so far matched the previous shape.
        let matched_so_far = self.keys.is_none();
        self.path.clear();
        self.segments.clear();
        self.skip.reset();
        self.push_segment(name, false);
        let result = failures::catch_render(|| var.write(Writer::new(self)));
        if result.is_err() {
            // `/debug/vars` reports the panic; the sample just leaves the variable out.
            self.values.truncate(start);
            if let Some(keys) = &mut self.keys {
                keys.truncate(start);
            }
            if matched_so_far {
                // Only the panicking variable's own leaves differed, and they are gone:
                // the shape is still the previous one, so no new schema is sent.
                self.keys = None;
            }
        }
        self.path.clear();
        self.segments.clear();
    }

    fn push_segment(&mut self, segment: &str, is_key: bool) {
        self.segments.push((self.path.len(), is_key));
        self.path.push_str(segment);
    }

    fn pop_segment(&mut self) {
        if let Some((start, _)) = self.segments.pop() {
            self.path.truncate(start);
        }
    }

    fn segment(&self, index: usize) -> &str {
        let start = self.segments[index].0;
        let end = self
            .segments
            .get(index + 1)
            .map_or(self.path.len(), |next| next.0);
        &self.path[start..end]
    }

    fn leaf(&mut self, kind: LeafKind, value: f64) {
        if !self.skip.scalar() {
            self.push_leaf(kind, value);
        }
        self.end_value();
    }

    fn push_leaf(&mut self, kind: LeafKind, value: f64) {
        let index = self.values.len();
        if index >= MAX_LEAVES {
            return;
        }
        let mut map_keys = 0;
        for (position, (_, is_key)) in self.segments.iter().enumerate().take(64) {
            if *is_key {
                map_keys |= 1 << position;
            }
        }
        self.values.push(value);
        if self.keys.is_none() {
            let same = self.previous.get(index).is_some_and(|key| {
                key.kind == kind
                    && key.map_keys == map_keys
                    && key.path.len() == self.segments.len()
                    && key
                        .path
                        .iter()
                        .enumerate()
                        .all(|(position, segment)| segment == self.segment(position))
            });
            if same {
                return;
            }
            self.keys = Some(self.previous[..index].to_vec());
        }
        let path = (0..self.segments.len())
            .map(|position| self.segment(position).to_owned())
            .collect();
        if let Some(keys) = &mut self.keys {
            keys.push(LeafKey {
                path,
                map_keys,
                kind,
            });
        }
    }

    /// Every value is announced by one segment (the variable's name, a field or a map
    /// key); a finished value removes it.
    fn end_value(&mut self) {
        self.pop_segment();
    }

    fn json_leaves(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Number(number) => {
                if let Some(number) = number.as_f64() {
                    self.push_leaf(LeafKind::Number, number);
                }
            }
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    self.push_segment(name, false);
                    self.json_leaves(member);
                    self.pop_segment();
                }
            }
            serde_json::Value::Array(items) if items.len() <= MAX_ARRAY_LEN => {
                for (index, item) in items.iter().enumerate() {
                    self.push_segment(itoa::Buffer::new().format(index), true);
                    self.json_leaves(item);
                    self.pop_segment();
                }
            }
            _ => {}
        }
    }
}

impl Encode for SampleEncoder<'_> {
    fn describe(&mut self, fact: Describe<'_>) {
        // The dashboard charts what `/debug/vars` holds.
        if let Describe::View(View::Metrics) = fact {
            self.skip.next_value();
        }
    }

    fn counter(&mut self, value: u64) {
        self.leaf(LeafKind::Counter, value as f64);
    }

    fn counter_f64(&mut self, value: f64) {
        self.leaf(LeafKind::Counter, value);
    }

    fn gauge(&mut self, value: i64) {
        self.leaf(LeafKind::Gauge, value as f64);
    }

    fn float(&mut self, value: f64) {
        self.leaf(LeafKind::Float, value);
    }

    fn str(&mut self, _: &str) {
        self.skip.scalar();
        self.end_value();
    }

    fn bool(&mut self, _: bool) {
        self.skip.scalar();
        self.end_value();
    }

    fn null(&mut self) {
        self.skip.scalar();
        self.end_value();
    }

    fn distribution(
        &mut self,
        distribution: &Distribution<'_>,
        _native: Option<&NativeBuckets<'_>>,
        _exemplars: &[Exemplar<'_>],
    ) {
        if !self.skip.scalar() {
            distribution.for_each_statistic(|name, statistic, value| {
                let kind = match statistic {
                    Statistic::Count | Statistic::Sum => LeafKind::Counter,
                    Statistic::Value => LeafKind::Quantile,
                };
                self.push_segment(name, false);
                self.push_leaf(kind, value);
                self.pop_segment();
            });
        }
        self.end_value();
    }

    fn json(&mut self, value: &serde_json::Value) {
        if !self.skip.scalar() {
            self.json_leaves(value);
        }
        self.end_value();
    }

    fn fail(&mut self, _: &dyn std::fmt::Display) {
        self.skip.scalar();
        self.end_value();
    }

    fn begin_object(&mut self) {
        self.skip.begin();
    }

    fn field(&mut self, name: &str) {
        self.push_segment(name, false);
    }

    fn end_object(&mut self) {
        self.skip.end();
        self.end_value();
    }

    fn begin_map(&mut self, _: &str) {
        self.begin_object();
    }

    fn entry(&mut self, key: &str) {
        self.push_segment(key, true);
    }

    fn end_map(&mut self) {
        self.end_object();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::vars::IntoVarRef;
    use crate::{Counter, Func, Gauge, Histogram, Map, Str};

    fn leaves_of(var: impl Var + 'static) -> Vec<(String, LeafKind, u64, f64)> {
        let var: Arc<dyn Var> = Arc::new(var);
        let flat = flatten(&[("v", var.into_var_ref())], None);
        flat.keys
            .unwrap()
            .into_iter()
            .zip(flat.values)
            .map(|(key, value)| (key.path.join("."), key.kind, key.map_keys, value))
            .collect()
    }

    #[test]
    fn scalars_keep_their_kind() {
        let counter = Counter::new();
        counter.add(3);
        assert_eq!(
            leaves_of(counter),
            [("v".into(), LeafKind::Counter, 0, 3.0)]
        );
        let gauge = Gauge::new();
        gauge.set(-2);
        assert_eq!(leaves_of(gauge), [("v".into(), LeafKind::Gauge, 0, -2.0)]);
        assert!(leaves_of(Str::new()).is_empty());
    }

    #[test]
    fn map_entries_are_marked_as_keys() {
        let map = Map::<Counter>::new();
        map.add("ok", 2);
        map.add("fail", 1);
        assert_eq!(
            leaves_of(map),
            [
                ("v.fail".into(), LeafKind::Counter, 0b10, 1.0),
                ("v.ok".into(), LeafKind::Counter, 0b10, 2.0),
            ]
        );
    }

    #[test]
    fn histograms_and_json_flatten() {
        let histogram = Histogram::new();
        histogram.record(2.0);
        let leaves = leaves_of(histogram);
        assert_eq!(leaves.len(), 9);
        assert_eq!(leaves[0], ("v.count".into(), LeafKind::Counter, 0, 1.0));
        assert_eq!(leaves[5].0, "v.p50");
        assert_eq!(leaves[5].1, LeafKind::Quantile);

        let func = Func::new(
            || serde_json::json!({"a": {"b": 1.5, "s": "x"}, "list": [1, 2], "ring": vec![0; 100]}),
        );
        assert_eq!(
            leaves_of(func),
            [
                ("v.a.b".into(), LeafKind::Number, 0, 1.5),
                ("v.list.0".into(), LeafKind::Number, 0b100, 1.0),
                ("v.list.1".into(), LeafKind::Number, 0b100, 2.0),
            ]
        );
    }

    #[test]
    fn a_panicking_variable_is_left_out() {
        let bad: Arc<dyn Var> = Arc::new(Func::new(|| -> serde_json::Value { panic!("boom") }));
        let good: Arc<dyn Var> = Arc::new(Gauge::new());
        let flat = flatten(
            &[("a", bad.into_var_ref()), ("b", good.into_var_ref())],
            None,
        );
        assert_eq!(flat.values, [0.0]);
        assert_eq!(flat.keys.unwrap()[0].path, ["b"]);
    }

    #[test]
    fn a_variable_that_panics_midway_keeps_the_shape() {
        struct HalfWritten;
        impl Var for HalfWritten {
            fn write(&self, out: Writer<'_>) {
                out.object(|fields| {
                    fields.field("first").gauge(1);
                    panic!("broken");
                });
            }
        }
        let gauge = Arc::new(Gauge::new());
        let vars = [
            ("a", Arc::new(HalfWritten).into_var_ref()),
            ("b", gauge.into_var_ref()),
        ];
        let shape = flatten(&vars, None).keys.unwrap();
        // Same registry next tick: no new schema, so no resend every second.
        assert_eq!(flatten(&vars, Some(&shape)).keys, None);
    }

    #[test]
    fn an_unchanged_shape_is_not_built_again() {
        let map: Arc<Map<Counter>> = Arc::new(Map::new());
        map.add("a", 1);
        let vars = [("m", Arc::clone(&map).into_var_ref())];
        let first = flatten(&vars, None);
        let shape = first.keys.unwrap();
        map.add("a", 1);
        let same = flatten(&vars, Some(&shape));
        assert_eq!((same.values, same.keys), (vec![2.0], None));

        // A new key changes the shape from where it appears.
        map.add("0", 5);
        let grown = flatten(&vars, Some(&shape));
        assert_eq!(grown.values, [5.0, 2.0]);
        let keys = grown.keys.unwrap();
        assert_eq!(keys[0].path, ["m", "0"]);
        assert_eq!(keys[1].path, ["m", "a"]);

        // Fewer leaves than before: the shape is the first ones.
        let fewer = flatten(&vars, Some(&keys[..1]));
        assert_eq!(fewer.keys.unwrap(), keys);
        let empty: [(&str, VarRef); 0] = [];
        let none = flatten(&empty, Some(&keys));
        assert_eq!((none.values.len(), none.keys), (0, Some(Vec::new())));
    }
}
