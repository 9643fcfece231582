//! What the mapping hands a format: families and their metrics, as plain data.
//!
//! The mapping (`mapping.rs`) decides every name, label and refusal once; each format
//! (`text.rs` for text 0.0.4 and OpenMetrics, and any other wire format) only lays
//! out what it is given, so every format carries the same series.

use std::borrow::Cow;
use std::ops::Range;

use super::families::Family;
use crate::vars::{CounterEntries, Distribution, Exemplar, NativeBuckets, Unit};

/// A number as a variable wrote it, kept exact until a format writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    /// The number as a double, as the protobuf formats carry most values.
    #[cfg_attr(not(any(feature = "remote-write", feature = "otlp")), allow(dead_code))]
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::U64(value) => value as f64,
            Number::I64(value) => value as f64,
            Number::F64(value) => value,
        }
    }
}

/// A family as it is first met: what its header says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FamilyHead<'a> {
    pub(crate) family: &'a Family,
    /// The description: what the value said of itself, or `expvar variable <path>`.
    pub(crate) help: &'a str,
    pub(crate) unit: Option<Unit>,
}

/// The labels of one metric: the constant labels, then one per enclosing map and those
/// the value described, in that order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels<'a> {
    /// The labels rendered as the text format writes them: `a="x",b="y"`, names
    /// sanitised, values escaped (`\\`, `\"`, `\n`).
    pub(crate) rendered: &'a [u8],
    /// One more label after them, not escaped yet: a map entry's key written without
    /// the per-entry bookkeeping.
    pub(crate) extra: Option<(&'a str, &'a str)>,
}

// `pairs` is for the wire formats that carry labels as data (the protobuf exposition,
// remote write, OTLP); the text format copies `rendered` as it is.
#[cfg_attr(not(test), allow(dead_code))]
impl<'a> Labels<'a> {
    /// Each label as `(name, value)`, values as the variable gave them (unescaped).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
        let rendered = RenderedPairs {
            rest: std::str::from_utf8(self.rendered).unwrap_or(""),
        };
        rendered.chain(self.extra.map(|(name, value)| (name, Cow::Borrowed(value))))
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.rendered.is_empty() && self.extra.is_none()
    }
}

/// The `name="value"` pairs of rendered labels, unescaped.
#[cfg_attr(not(test), allow(dead_code))]
struct RenderedPairs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for RenderedPairs<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.strip_prefix(',').unwrap_or(self.rest);
        let (name, quoted) = rest.split_once("=\"")?;
        // The value ends at the first quote that is not escaped.
        let bytes = quoted.as_bytes();
        let mut end = 0;
        let mut escaped = false;
        while end < bytes.len() {
            match bytes[end] {
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                b'"' => break,
                _ => end += 1,
            }
        }
        let raw = &quoted[..end.min(quoted.len())];
        self.rest = quoted.get(end + 1..).unwrap_or("");
        let value = if escaped {
            let mut value = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match (c, c == '\\') {
                    (_, true) => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => {}
                    },
                    (c, false) => value.push(c),
                }
            }
            Cow::Owned(value)
        } else {
            Cow::Borrowed(raw)
        };
        Some((name, value))
    }
}

/// The value of one metric.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MetricValue<'a> {
    /// A counter's total (never NaN or negative: the mapping leaves those out), with
    /// its latest exemplar (valid labels, finite value and timestamp).
    Counter(Number, Option<&'a Exemplar<'a>>),
    Gauge(Number),
    /// A string: a series of value 1 whose `value` label holds it.
    Info(&'a str),
    Histogram(&'a HistogramValue<'a>),
}

/// A histogram as the mapping hands it on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistogramValue<'a> {
    /// Valid `le` buckets; a sum that is not NaN, and not negative unless there are
    /// negative native buckets.
    pub(crate) distribution: &'a Distribution<'a>,
    /// Native buckets that add up to the count, if it has some.
    pub(crate) native: Option<&'a NativeBuckets<'a>>,
    /// Valid exemplars (as for a counter), by increasing value.
    pub(crate) exemplars: &'a [Exemplar<'a>],
}

impl<'a> HistogramValue<'a> {
    /// The exemplar to show on the bucket `(lower, upper]`: the latest of those whose
    /// value is in it.
    pub(crate) fn exemplar_in(&self, lower: f64, upper: f64) -> Option<&'a Exemplar<'a>> {
        self.exemplars
            .iter()
            .filter(|exemplar| lower < exemplar.value && exemplar.value <= upper)
            .max_by(|a, b| a.timestamp.total_cmp(&b.timestamp))
    }
}

/// Where one family's pieces are in a format's output, when its metrics may arrive
/// apart: the first run (for the text formats, its header and first lines) and the
/// later ones, so the document can be put together with each family whole.
#[derive(Debug)]
pub(crate) struct Runs {
    first: Range<usize>,
    /// Later runs, written after other families' pieces.
    more: Vec<Range<usize>>,
}

impl Runs {
    /// A family whose first run is `first`.
    pub(crate) fn new(first: Range<usize>) -> Self {
        Runs {
            first,
            more: Vec::new(),
        }
    }

    /// Adds `piece`, written just now: to the last run if it follows it.
    #[inline]
    pub(crate) fn add(&mut self, piece: Range<usize>) {
        let run = self.more.last_mut().unwrap_or(&mut self.first);
        if run.end == piece.start {
            run.end = piece.end;
        } else {
            self.more.push(piece);
        }
    }

    /// The last run now ends at `end` (the piece just written grew).
    pub(crate) fn end_at(&mut self, end: usize) {
        self.more.last_mut().unwrap_or(&mut self.first).end = end;
    }

    /// Forgets everything from `start` on.
    pub(crate) fn roll_back(&mut self, start: usize) {
        self.more.retain(|run| run.start < start);
        let run = self.more.last_mut().unwrap_or(&mut self.first);
        run.end = run.end.min(start);
    }

    /// Whether the family is in one piece.
    pub(crate) fn is_whole(&self) -> bool {
        self.more.is_empty()
    }

    /// The runs, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Range<usize>> {
        std::iter::once(&self.first).chain(&self.more)
    }

    /// Bytes in all the runs.
    pub(crate) fn len(&self) -> usize {
        self.iter().map(ExactSizeIterator::len).sum()
    }
}

/// Where a format's output stood, to roll back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    /// The families that existed then.
    pub(crate) families: usize,
    /// The format's own position (bytes written, metrics kept, ...).
    pub(crate) position: usize,
}

/// One wire format of the mapping's families and metrics.
///
/// Families are numbered in the order they are first met, from 0; their metrics may
/// arrive apart (a map of structs feeds one family per field, entry by entry), and a
/// format that needs each family's metrics together puts them together itself.
pub(crate) trait Format {
    /// The finished document.
    type Output;

    /// A family met for the first time; it is `families[family]` from now on.
    fn family(&mut self, family: usize, head: &FamilyHead<'_>);

    /// One metric of `family`, the family numbered `index`.
    fn metric(
        &mut self,
        index: usize,
        family: &Family,
        labels: &Labels<'_>,
        value: MetricValue<'_>,
    );

    /// Counters of family `index` whose labels are `labels` and one more, `label`, whose
    /// value is each entry's key: a map of counters, met once its family is found. The
    /// same as one [`metric`](Self::metric) per entry, which is what it does unless a
    /// format writes them faster together.
    fn counters(
        &mut self,
        index: usize,
        family: &Family,
        labels: &[u8],
        label: &str,
        entries: &mut CounterEntries<'_>,
    ) {
        for entry in entries {
            let labels = Labels {
                rendered: labels,
                extra: Some((label, entry.key)),
            };
            let value = MetricValue::Counter(Number::U64(entry.value), None);
            self.metric(index, family, &labels, value);
        }
    }

    /// The position to roll back to if the variable being written panics.
    fn mark(&self, families: usize) -> Mark;

    /// Forgets what was written since `mark`: its metrics, and families met since.
    fn roll_back(&mut self, mark: Mark);

    /// The document, given every family in the order they were met.
    fn finish(self, families: &[Family]) -> Self::Output;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::prometheus::names::push_label;

    #[test]
    fn labels_read_back_as_they_were_given() {
        let given = [
            ("service", "a\"p\\i\nv2\0\u{2028}"),
            ("instance", ""),
            ("key", "\\\"\\n\""),
            ("plain", "é"),
        ];
        let mut rendered = Vec::new();
        for (name, value) in given {
            push_label(&mut rendered, name, value);
        }
        let labels = Labels {
            rendered: &rendered,
            extra: Some(("le", "+Inf")),
        };
        let pairs: Vec<(&str, String)> = labels
            .pairs()
            .map(|(name, value)| (name, value.into_owned()))
            .collect();
        let mut expected: Vec<(&str, String)> = given
            .iter()
            .map(|&(name, value)| (name, value.to_owned()))
            .collect();
        expected.push(("le", "+Inf".to_owned()));
        assert_eq!(pairs, expected);
        let none = Labels {
            rendered: b"",
            extra: None,
        };
        assert!(none.is_empty());
        assert_eq!(none.pairs().count(), 0);
    }
}
