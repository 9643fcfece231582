//! Samples for the live dashboard: the registry flattened into numeric leaves.
//!
//! Each leaf is a path of segments (`["memstats", "HeapInuse"]`), the kind of value the
//! variable wrote (a counter is charted as a rate, a gauge as a value) and the value.
//! Strings, booleans and nulls are not charted and are left out.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::Encode;
use crate::histogram::Histogram;
use crate::registry::VarRef;
use crate::var::{Var, Writer};

/// The most leaves one sample holds; the rest of a huge registry is left out so a
/// sample stays small enough to send every second.
pub(crate) const MAX_LEAVES: usize = 4096;
/// Longer arrays inside JSON values are not charted: Go's `memstats.PauseNs` and
/// `PauseEnd` rings are 256 zeros each, while `BySize` (61 classes) is kept.
const MAX_ARRAY_LEN: usize = 64;

/// What a variable said a leaf is, which decides how the dashboard charts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
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

impl Kind {
    /// The one-letter code the dashboard page reads.
    pub(crate) fn code(self) -> char {
        match self {
            Kind::Counter => 'c',
            Kind::Gauge => 'g',
            Kind::Float => 'f',
            Kind::Quantile => 'q',
            Kind::Number => 'n',
        }
    }
}

/// One numeric value of the registry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Leaf {
    /// The variable's name, then one segment per field or map key down to the value.
    pub(crate) path: Vec<String>,
    /// Bit `i` is set when `path[i]` is a key of a [`Map`](crate::Map) rather than a
    /// field name, so the page can draw one series per key.
    pub(crate) map_keys: u64,
    pub(crate) kind: Kind,
    /// Not finite for a value that could not be read (the page shows a gap).
    pub(crate) value: f64,
}

/// Flattens `vars` into leaves, in registry order. A variable whose `write` panics
/// contributes nothing; the others are unaffected.
pub(crate) fn flatten(vars: &[(impl AsRef<str>, VarRef)]) -> Vec<Leaf> {
    let mut encoder = SampleEncoder::default();
    for (name, var) in vars {
        if encoder.leaves.len() >= MAX_LEAVES {
            break;
        }
        encoder.write_isolated(name.as_ref(), &**var);
    }
    encoder.leaves
}

#[derive(Default)]
struct SampleEncoder {
    leaves: Vec<Leaf>,
    /// The segments down to the value being written, each with whether it is a map key.
    path: Vec<(String, bool)>,
}

impl SampleEncoder {
    fn write_isolated(&mut self, name: &str, var: &dyn Var) {
        let start = self.leaves.len();
        self.path.clear();
        self.path.push((name.to_owned(), false));
        let result = catch_unwind(AssertUnwindSafe(|| var.write(Writer::new(self))));
        if result.is_err() {
            // `/debug/vars` reports the panic; the sample just leaves the variable out.
            self.leaves.truncate(start);
        }
        self.path.clear();
    }

    fn leaf(&mut self, kind: Kind, value: f64) {
        self.push_leaf(kind, value);
        self.end_value();
    }

    fn push_leaf(&mut self, kind: Kind, value: f64) {
        if self.leaves.len() >= MAX_LEAVES {
            return;
        }
        let mut map_keys = 0;
        for (index, (_, is_key)) in self.path.iter().enumerate().take(64) {
            if *is_key {
                map_keys |= 1 << index;
            }
        }
        self.leaves.push(Leaf {
            path: self
                .path
                .iter()
                .map(|(segment, _)| segment.clone())
                .collect(),
            map_keys,
            kind,
            value,
        });
    }

    /// Every value is announced by one segment (the variable's name, a field or a map
    /// key); a finished value removes it.
    fn end_value(&mut self) {
        self.path.pop();
    }

    fn json_leaves(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Number(number) => {
                if let Some(number) = number.as_f64() {
                    self.push_leaf(Kind::Number, number);
                }
            }
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    self.path.push((name.clone(), false));
                    self.json_leaves(member);
                    self.path.pop();
                }
            }
            serde_json::Value::Array(items) if items.len() <= MAX_ARRAY_LEN => {
                for (index, item) in items.iter().enumerate() {
                    self.path.push((index.to_string(), true));
                    self.json_leaves(item);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }
}

impl Encode for SampleEncoder {
    fn counter(&mut self, value: u64) {
        self.leaf(Kind::Counter, value as f64);
    }

    fn gauge(&mut self, value: i64) {
        self.leaf(Kind::Gauge, value as f64);
    }

    fn float(&mut self, value: f64) {
        self.leaf(Kind::Float, value);
    }

    fn str(&mut self, _: &str) {
        self.end_value();
    }

    fn bool(&mut self, _: bool) {
        self.end_value();
    }

    fn null(&mut self) {
        self.end_value();
    }

    fn histogram(&mut self, histogram: &Histogram) {
        let summary = histogram.summary();
        let fields = [
            ("count", Kind::Counter, summary.count as f64),
            ("sum", Kind::Counter, summary.sum),
            ("min", Kind::Quantile, summary.min),
            ("max", Kind::Quantile, summary.max),
            ("mean", Kind::Quantile, summary.mean),
            ("p50", Kind::Quantile, summary.p50),
            ("p90", Kind::Quantile, summary.p90),
            ("p99", Kind::Quantile, summary.p99),
            ("p999", Kind::Quantile, summary.p999),
        ];
        for (name, kind, value) in fields {
            self.path.push((name.to_owned(), false));
            self.leaf(kind, value);
        }
        self.end_value();
    }

    fn json(&mut self, value: &serde_json::Value) {
        self.json_leaves(value);
        self.end_value();
    }

    fn fail(&mut self, _: &dyn std::fmt::Display) {
        self.end_value();
    }

    fn begin_object(&mut self) {}

    fn field(&mut self, name: &str, _: Option<&str>) {
        self.path.push((name.to_owned(), false));
    }

    fn end_object(&mut self) {
        self.end_value();
    }

    fn begin_map(&mut self, _: &str) {}

    fn entry(&mut self, key: &str) {
        self.path.push((key.to_owned(), true));
    }

    fn end_map(&mut self) {
        self.end_value();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::registry::IntoVarRef;
    use crate::{Counter, Func, Gauge, Map, Str};

    fn leaves_of(var: impl Var + 'static) -> Vec<(String, Kind, u64, f64)> {
        let var: Arc<dyn Var> = Arc::new(var);
        flatten(&[("v", var.into_var_ref())])
            .into_iter()
            .map(|leaf| (leaf.path.join("."), leaf.kind, leaf.map_keys, leaf.value))
            .collect()
    }

    #[test]
    fn scalars_keep_their_kind() {
        let counter = Counter::new();
        counter.add(3);
        assert_eq!(leaves_of(counter), [("v".into(), Kind::Counter, 0, 3.0)]);
        let gauge = Gauge::new();
        gauge.set(-2);
        assert_eq!(leaves_of(gauge), [("v".into(), Kind::Gauge, 0, -2.0)]);
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
                ("v.fail".into(), Kind::Counter, 0b10, 1.0),
                ("v.ok".into(), Kind::Counter, 0b10, 2.0),
            ]
        );
    }

    #[test]
    fn histograms_and_json_flatten() {
        let histogram = Histogram::new();
        histogram.record(2.0);
        let leaves = leaves_of(histogram);
        assert_eq!(leaves.len(), 9);
        assert_eq!(leaves[0], ("v.count".into(), Kind::Counter, 0, 1.0));
        assert_eq!(leaves[5].0, "v.p50");
        assert_eq!(leaves[5].1, Kind::Quantile);

        let func = Func::new(
            || serde_json::json!({"a": {"b": 1.5, "s": "x"}, "list": [1, 2], "ring": vec![0; 100]}),
        );
        assert_eq!(
            leaves_of(func),
            [
                ("v.a.b".into(), Kind::Number, 0, 1.5),
                ("v.list.0".into(), Kind::Number, 0b100, 1.0),
                ("v.list.1".into(), Kind::Number, 0b100, 2.0),
            ]
        );
    }

    #[test]
    fn a_panicking_variable_is_left_out() {
        let bad: Arc<dyn Var> = Arc::new(Func::new(|| -> serde_json::Value { panic!("boom") }));
        let good: Arc<dyn Var> = Arc::new(Gauge::new());
        let leaves = flatten(&[("a", bad.into_var_ref()), ("b", good.into_var_ref())]);
        assert_eq!(leaves.len(), 1);
        assert_eq!(leaves[0].path, ["b"]);
    }
}
