//! The protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages (client_model's `metrics.proto`), what Prometheus asks for first when it
//! scrapes native histograms.
//!
//! Each metric is encoded as it arrives, as a whole `Metric` field of its family; a
//! family whose metrics arrive apart records each run of them, and the families are put
//! together at the end, each behind its length, which is known by then.
//!
//! Native histograms carry their schema, zero bucket, spans and deltas; classic `le`
//! buckets go beside them when the histogram has some; exemplars go on the classic
//! bucket their value falls in (a `+Inf` bucket is added for those above the last
//! bound) and, all of them, in the native histogram's exemplars. Counters carry their
//! exemplar. Strings are gauges named `<name>_info`, as in text 0.0.4.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::families::{Family, FamilyType};
use super::format::{FamilyHead, Format, HistogramValue, Labels, Mark, MetricValue, Number, Runs};
use crate::encode::protobuf::{Nested, Protobuf};
use crate::vars::{Exemplar, NativeBuckets, Unit};

/// The `Content-Type` of the protobuf exposition.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The size of the last document, to allocate the next one at once.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

/// `MetricType` of `metrics.proto`.
const COUNTER: u64 = 0;
const GAUGE: u64 = 1;
const HISTOGRAM: u64 = 4;

/// Field numbers of `metrics.proto`, by message.
mod field {
    pub(super) mod family {
        pub(crate) const NAME: u32 = 1;
        pub(crate) const HELP: u32 = 2;
        pub(crate) const TYPE: u32 = 3;
        pub(crate) const METRIC: u32 = 4;
        pub(crate) const UNIT: u32 = 5;
    }
    pub(super) mod metric {
        pub(crate) const LABEL: u32 = 1;
        pub(crate) const GAUGE: u32 = 2;
        pub(crate) const COUNTER: u32 = 3;
        pub(crate) const HISTOGRAM: u32 = 7;
    }
    /// `LabelPair`.
    pub(super) mod label {
        pub(crate) const NAME: u32 = 1;
        pub(crate) const VALUE: u32 = 2;
    }
    /// `Gauge`, `Counter`.
    pub(super) mod value {
        pub(crate) const VALUE: u32 = 1;
        pub(crate) const EXEMPLAR: u32 = 2;
    }
    pub(super) mod histogram {
        pub(crate) const SAMPLE_COUNT: u32 = 1;
        pub(crate) const SAMPLE_SUM: u32 = 2;
        pub(crate) const BUCKET: u32 = 3;
        pub(crate) const SCHEMA: u32 = 5;
        pub(crate) const ZERO_THRESHOLD: u32 = 6;
        pub(crate) const ZERO_COUNT: u32 = 7;
        pub(crate) const NEGATIVE_SPAN: u32 = 9;
        pub(crate) const NEGATIVE_DELTA: u32 = 10;
        pub(crate) const POSITIVE_SPAN: u32 = 12;
        pub(crate) const POSITIVE_DELTA: u32 = 13;
        pub(crate) const EXEMPLARS: u32 = 16;
    }
    pub(super) mod bucket {
        pub(crate) const CUMULATIVE_COUNT: u32 = 1;
        pub(crate) const UPPER_BOUND: u32 = 2;
        pub(crate) const EXEMPLAR: u32 = 3;
    }
    pub(super) mod span {
        pub(crate) const OFFSET: u32 = 1;
        pub(crate) const LENGTH: u32 = 2;
    }
    pub(super) mod exemplar {
        pub(crate) const LABEL: u32 = 1;
        pub(crate) const VALUE: u32 = 2;
        pub(crate) const TIMESTAMP: u32 = 3;
    }
    /// `google.protobuf.Timestamp`.
    pub(super) mod timestamp {
        pub(crate) const SECONDS: u32 = 1;
        pub(crate) const NANOS: u32 = 2;
    }
}

/// A document in the protobuf exposition.
pub(crate) struct ProtobufExposition {
    /// Encoded `Metric` fields, in the order they came.
    out: Protobuf,
    /// Per family: its header, and where its metrics are in `out`.
    families: Vec<Pending>,
    /// The families' help texts, one after the other.
    help: String,
}

struct Pending {
    help: Range<usize>,
    unit: Option<Unit>,
    runs: Runs,
}

impl ProtobufExposition {
    pub(crate) fn new(families: usize) -> Self {
        let last = LAST_SIZE.load(Relaxed);
        ProtobufExposition {
            out: Protobuf::with_buffer(Vec::with_capacity(last + last / 8)),
            families: Vec::with_capacity(families),
            help: String::new(),
        }
    }

    fn labels(&mut self, labels: &Labels<'_>, last: Option<(&str, &str)>) {
        let out = &mut self.out;
        for (name, value) in labels.pairs() {
            label(out, field::metric::LABEL, name, &value);
        }
        if let Some((name, value)) = last {
            label(out, field::metric::LABEL, name, value);
        }
    }

    fn histogram(&mut self, histogram: &HistogramValue<'_>) {
        use field::histogram::*;
        let out = &mut self.out;
        let distribution = histogram.distribution;
        let message = out.begin(field::metric::HISTOGRAM);
        out.uint64(SAMPLE_COUNT, distribution.count);
        out.double(SAMPLE_SUM, distribution.sum);
        let mut lower = f64::NEG_INFINITY;
        for &(bound, count) in distribution.buckets {
            let exemplar = histogram.exemplar_in(lower, bound);
            lower = bound;
            bucket(out, count, bound, exemplar);
        }
        // The `+Inf` bucket is implied; written only to carry an exemplar.
        if let Some(exemplar) = histogram.exemplar_in(lower, f64::INFINITY) {
            bucket(out, distribution.count, f64::INFINITY, Some(exemplar));
        }
        if let Some(native) = histogram.native {
            native_buckets(out, native);
            for exemplar in histogram.exemplars {
                write_exemplar(out, EXEMPLARS, exemplar);
            }
        }
        out.end(message);
    }
}

/// A `LabelPair` as field `field`.
fn label(out: &mut Protobuf, field: u32, name: &str, value: &str) {
    let pair = out.begin(field);
    out.string(field::label::NAME, name);
    out.string(field::label::VALUE, value);
    out.end(pair);
}

fn bucket(out: &mut Protobuf, count: u64, bound: f64, exemplar: Option<&Exemplar<'_>>) {
    use field::bucket::*;
    let bucket = out.begin(field::histogram::BUCKET);
    out.uint64(CUMULATIVE_COUNT, count);
    out.double(UPPER_BOUND, bound);
    if let Some(exemplar) = exemplar {
        write_exemplar(out, EXEMPLAR, exemplar);
    }
    out.end(bucket);
}

fn write_exemplar(out: &mut Protobuf, field: u32, exemplar: &Exemplar<'_>) {
    use field::exemplar::*;
    let message = out.begin(field);
    for &(name, value) in exemplar.labels {
        label(out, LABEL, name, value);
    }
    out.double(VALUE, exemplar.value);
    // Validated by the mapping: finite and not negative.
    let seconds = exemplar.timestamp.floor();
    let nanos = ((exemplar.timestamp - seconds) * 1e9)
        .round()
        .min(999_999_999.0);
    let timestamp = out.begin(TIMESTAMP);
    out.int64(field::timestamp::SECONDS, seconds as i64);
    out.int64(field::timestamp::NANOS, nanos as i64);
    out.end(timestamp);
    out.end(message);
}

/// The native part of a `Histogram`: schema, zero bucket, spans and deltas.
fn native_buckets(out: &mut Protobuf, native: &NativeBuckets<'_>) {
    use field::histogram::*;
    out.sint64(SCHEMA, i64::from(native.schema));
    out.double(ZERO_THRESHOLD, native.zero_threshold);
    out.uint64(ZERO_COUNT, native.zero_count);
    spans_and_deltas(out, native.negative, NEGATIVE_SPAN, NEGATIVE_DELTA);
    spans_and_deltas(out, native.positive, POSITIVE_SPAN, POSITIVE_DELTA);
    let empty = native.positive.is_empty() && native.negative.is_empty();
    if empty && native.zero_threshold == 0.0 && native.zero_count == 0 {
        // A native histogram with nothing to tell it from a classic one: a span of no
        // buckets says what it is, as client_golang writes it.
        span(out, POSITIVE_SPAN, 0, 0);
    }
}

/// Buckets as spans of consecutive indexes and count deltas. A gap of one or two
/// buckets is filled with empty ones rather than starting a span, as client_golang
/// does: smaller on the wire.
fn spans_and_deltas(out: &mut Protobuf, buckets: &[(i32, u64)], span_field: u32, delta_field: u32) {
    let Some(&(first, _)) = buckets.first() else {
        return;
    };
    // Spans: a gap of three or more buckets starts a new one. Each is given by its gap
    // to the one before (the first by its starting index) and its length.
    let mut start = first;
    let mut next = first + 1;
    let mut previous_end = None;
    for &(index, _) in &buckets[1..] {
        if index - next > 2 {
            let offset = previous_end.map_or(start, |end| start - end);
            span(out, span_field, offset, (next - start) as u32);
            previous_end = Some(next);
            start = index;
        }
        next = index + 1;
    }
    let offset = previous_end.map_or(start, |end| start - end);
    span(out, span_field, offset, (next - start) as u32);
    // Deltas: each bucket's count less the one before it in the spans, filled gaps
    // included (the first against 0).
    let mut previous = 0i64;
    let mut expected = first;
    for &(index, count) in buckets {
        if index - expected <= 2 {
            for _ in expected..index {
                out.sint64(delta_field, -previous);
                previous = 0;
            }
        }
        let count = count as i64;
        out.sint64(delta_field, count - previous);
        previous = count;
        expected = index + 1;
    }
}

fn span(out: &mut Protobuf, field: u32, offset: i32, length: u32) {
    let message = out.begin(field);
    out.sint64(field::span::OFFSET, i64::from(offset));
    out.uint64(field::span::LENGTH, u64::from(length));
    out.end(message);
}

impl Format for ProtobufExposition {
    type Output = Vec<u8>;

    fn family(&mut self, index: usize, head: &FamilyHead<'_>) {
        debug_assert_eq!(index, self.families.len());
        let start = self.help.len();
        self.help.push_str(head.help);
        let at = self.out.len();
        self.families.push(Pending {
            help: start..self.help.len(),
            unit: head.unit,
            runs: Runs::new(at..at),
        });
    }

    fn metric(
        &mut self,
        index: usize,
        _family: &Family,
        labels: &Labels<'_>,
        value: MetricValue<'_>,
    ) {
        let start = self.out.len();
        let metric: Nested = self.out.begin(field::family::METRIC);
        match value {
            MetricValue::Counter(number, exemplar) => {
                self.labels(labels, None);
                let out = &mut self.out;
                let counter = out.begin(field::metric::COUNTER);
                out.double(field::value::VALUE, as_f64(number));
                if let Some(exemplar) = exemplar {
                    write_exemplar(out, field::value::EXEMPLAR, exemplar);
                }
                out.end(counter);
            }
            MetricValue::Gauge(number) => {
                self.labels(labels, None);
                let out = &mut self.out;
                out.message(field::metric::GAUGE, |out| {
                    out.double(field::value::VALUE, as_f64(number));
                });
            }
            MetricValue::Info(value) => {
                self.labels(labels, Some((super::mapping::INFO_LABEL, value)));
                self.out.message(field::metric::GAUGE, |out| {
                    out.double(field::value::VALUE, 1.0);
                });
            }
            MetricValue::Histogram(histogram) => {
                self.labels(labels, None);
                self.histogram(histogram);
            }
        }
        self.out.end(metric);
        self.families[index].runs.add(start..self.out.len());
    }

    fn mark(&self, families: usize) -> Mark {
        Mark {
            families,
            position: self.out.len(),
        }
    }

    fn roll_back(&mut self, mark: Mark) {
        let start = mark.position;
        self.out.truncate(start, 0);
        self.families.truncate(mark.families);
        if let Some(last) = self.families.last() {
            self.help.truncate(last.help.end);
        } else {
            self.help.clear();
        }
        for family in &mut self.families {
            family.runs.roll_back(start);
        }
    }

    fn finish(self, families: &[Family]) -> Vec<u8> {
        let metrics = self.out.as_bytes();
        let mut document = Protobuf::with_buffer(Vec::with_capacity(metrics.len() * 9 / 8 + 64));
        let mut head = Protobuf::new();
        let mut name = String::new();
        for (family, pending) in families.iter().zip(&self.families) {
            let body = pending.runs.len();
            if body == 0 {
                continue;
            }
            name.clear();
            name.push_str(&family.name);
            let kind = match family.kind {
                FamilyType::Counter => {
                    name.push_str("_total");
                    COUNTER
                }
                FamilyType::Info => {
                    name.push_str("_info");
                    GAUGE
                }
                FamilyType::Gauge => GAUGE,
                FamilyType::Histogram => HISTOGRAM,
            };
            head.clear();
            head.string(field::family::NAME, &name);
            head.string(field::family::HELP, &self.help[pending.help.clone()]);
            head.uint64(field::family::TYPE, kind);
            if let Some(unit) = pending.unit {
                head.string(field::family::UNIT, unit.as_str());
            }
            document.packed_uint64((head.len() + body) as u64);
            document.raw(head.as_bytes());
            for run in pending.runs.iter() {
                document.raw(&metrics[run.clone()]);
            }
        }
        let document = document.into_inner();
        LAST_SIZE.store(document.len(), Relaxed);
        document
    }
}

fn as_f64(number: Number) -> f64 {
    match number {
        Number::U64(value) => value as f64,
        Number::I64(value) => value as f64,
        Number::F64(value) => value,
    }
}

#[cfg(test)]
mod tests;
