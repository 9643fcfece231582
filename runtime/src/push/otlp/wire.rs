//! OTLP metrics: the mapping's families as an `ExportMetricsServiceRequest`
//! (opentelemetry-proto's `metrics/v1/metrics.proto`), binary protobuf.
//!
//! One `ResourceMetrics` (the resource given), one `ScopeMetrics` (scope `expvar`, the
//! crate's version), one `Metric` per family, named as the family is in the text
//! format's `# TYPE` line without the sample suffixes: a counter is the monotonic,
//! cumulative `Sum` `requests` (which Prometheus-compatible back ends show as
//! `requests_total`), a gauge a `Gauge`, a histogram a cumulative `Histogram` with its
//! explicit bounds, or an `ExponentialHistogram` when it has native buckets (the same
//! layout: Prometheus's schema is OTLP's scale). A string is the gauge `name_info` of
//! value 1 whose attribute `value` holds it, as in the text format. Each metric's
//! labels (the pusher's labels, map keys, described labels) are its data point's
//! attributes. Every data point has the time of the reading; sums and histograms start
//! at one fixed time (the process's start).
//!
//! Data points are encoded as they arrive; a family's may arrive apart, so each family
//! records where its data points are, and the request is put together at the end, with
//! every length known, so no byte moves twice.

use std::ops::Range;

use crate::encode::prometheus::format::{
    FamilyHead, Format, HistogramValue, Labels, Mark, MetricValue, Number, Runs,
};
use crate::encode::prometheus::{Family, FamilyType, INFO_LABEL};
use crate::encode::protobuf::{field_len, Protobuf};
use crate::vars::{Exemplar, NativeBuckets, Unit};

/// Field numbers of the OTLP protos, by message.
mod field {
    pub(super) mod request {
        pub(crate) const RESOURCE_METRICS: u32 = 1;
    }
    pub(super) mod resource_metrics {
        pub(crate) const RESOURCE: u32 = 1;
        pub(crate) const SCOPE_METRICS: u32 = 2;
    }
    pub(super) mod scope_metrics {
        pub(crate) const SCOPE: u32 = 1;
        pub(crate) const METRICS: u32 = 2;
    }
    pub(super) mod scope {
        pub(crate) const NAME: u32 = 1;
        pub(crate) const VERSION: u32 = 2;
    }
    pub(super) mod metric {
        pub(crate) const NAME: u32 = 1;
        pub(crate) const DESCRIPTION: u32 = 2;
        pub(crate) const UNIT: u32 = 3;
        pub(crate) const GAUGE: u32 = 5;
        pub(crate) const SUM: u32 = 7;
        pub(crate) const HISTOGRAM: u32 = 9;
        pub(crate) const EXPONENTIAL_HISTOGRAM: u32 = 10;
    }
    /// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram`.
    pub(super) mod data {
        pub(crate) const DATA_POINTS: u32 = 1;
        pub(crate) const AGGREGATION_TEMPORALITY: u32 = 2;
        pub(crate) const IS_MONOTONIC: u32 = 3;
    }
    pub(super) mod number {
        pub(crate) const START_TIME: u32 = 2;
        pub(crate) const TIME: u32 = 3;
        pub(crate) const AS_DOUBLE: u32 = 4;
        pub(crate) const EXEMPLARS: u32 = 5;
        pub(crate) const AS_INT: u32 = 6;
        pub(crate) const ATTRIBUTES: u32 = 7;
    }
    pub(super) mod histogram {
        pub(crate) const START_TIME: u32 = 2;
        pub(crate) const TIME: u32 = 3;
        pub(crate) const COUNT: u32 = 4;
        pub(crate) const SUM: u32 = 5;
        pub(crate) const BUCKET_COUNTS: u32 = 6;
        pub(crate) const EXPLICIT_BOUNDS: u32 = 7;
        pub(crate) const EXEMPLARS: u32 = 8;
        pub(crate) const ATTRIBUTES: u32 = 9;
        pub(crate) const MIN: u32 = 11;
        pub(crate) const MAX: u32 = 12;
    }
    pub(super) mod exponential {
        pub(crate) const ATTRIBUTES: u32 = 1;
        pub(crate) const START_TIME: u32 = 2;
        pub(crate) const TIME: u32 = 3;
        pub(crate) const COUNT: u32 = 4;
        pub(crate) const SUM: u32 = 5;
        pub(crate) const SCALE: u32 = 6;
        pub(crate) const ZERO_COUNT: u32 = 7;
        pub(crate) const POSITIVE: u32 = 8;
        pub(crate) const NEGATIVE: u32 = 9;
        pub(crate) const EXEMPLARS: u32 = 11;
        pub(crate) const MIN: u32 = 12;
        pub(crate) const MAX: u32 = 13;
        pub(crate) const ZERO_THRESHOLD: u32 = 14;
    }
    pub(super) mod buckets {
        pub(crate) const OFFSET: u32 = 1;
        pub(crate) const BUCKET_COUNTS: u32 = 2;
    }
    pub(super) mod exemplar {
        pub(crate) const TIME: u32 = 2;
        pub(crate) const AS_DOUBLE: u32 = 3;
        pub(crate) const SPAN_ID: u32 = 4;
        pub(crate) const TRACE_ID: u32 = 5;
        pub(crate) const FILTERED_ATTRIBUTES: u32 = 7;
    }
    pub(super) mod key_value {
        pub(crate) const KEY: u32 = 1;
        pub(crate) const VALUE: u32 = 2;
    }
    pub(super) mod any_value {
        pub(crate) const STRING: u32 = 1;
        pub(crate) const INT: u32 = 3;
    }
}

/// `AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: u64 = 2;

/// The most buckets an exponential data point spans: wider native buckets are merged
/// pairwise (the scale lowered) until they fit, as OTLP's own SDKs do.
const MAX_EXPONENTIAL_BUCKETS: i64 = 160;

/// A request being written.
pub(crate) struct OtlpFormat<'r> {
    /// Encoded `data_points` fields, in the order they came.
    out: Protobuf,
    /// The `Resource` message.
    resource: &'r [u8],
    start_nanos: u64,
    time_nanos: u64,
    /// Per family: its help (in `help`), unit, and where its data points are.
    families: Vec<Pending>,
    help: String,
    samples: usize,
    marked_samples: std::cell::Cell<usize>,
}

struct Pending {
    help: Range<usize>,
    unit: Option<Unit>,
    /// Data points of its own kind, and (histograms only) exponential ones.
    runs: [Option<Runs>; 2],
}

/// Which of a family's two kinds a data point is.
const MAIN: usize = 0;
const EXPONENTIAL: usize = 1;

/// The encoded request, and how many data points it holds.
pub(crate) struct Encoded {
    pub(crate) request: Vec<u8>,
    pub(crate) samples: usize,
    /// The data points' buffer, for the next request.
    pub(crate) buffer: Vec<u8>,
}

impl<'r> OtlpFormat<'r> {
    /// A request of `resource` (an encoded `Resource`), data points read at
    /// `time_nanos`, sums and histograms counted from `start_nanos`; written into
    /// `buffer` (emptied, its capacity reused).
    pub(crate) fn new(
        buffer: Vec<u8>,
        resource: &'r [u8],
        families: usize,
        start_nanos: u64,
        time_nanos: u64,
    ) -> Self {
        let mut buffer = buffer;
        buffer.clear();
        OtlpFormat {
            out: Protobuf::with_buffer(buffer),
            resource,
            start_nanos,
            time_nanos,
            families: Vec::with_capacity(families),
            help: String::new(),
            samples: 0,
            marked_samples: std::cell::Cell::new(0),
        }
    }

    fn attributes(&mut self, field: u32, labels: &Labels<'_>, last: Option<(&str, &str)>) {
        for (name, value) in labels.pairs() {
            string_attribute(&mut self.out, field, name, &value);
        }
        if let Some((name, value)) = last {
            string_attribute(&mut self.out, field, name, value);
        }
    }

    /// A `NumberDataPoint`.
    fn number(
        &mut self,
        labels: &Labels<'_>,
        last: Option<(&str, &str)>,
        value: Number,
        cumulative: bool,
        exemplar: Option<&Exemplar<'_>>,
    ) {
        use field::number::*;
        self.attributes(ATTRIBUTES, labels, last);
        let out = &mut self.out;
        if cumulative {
            out.fixed64(START_TIME, self.start_nanos);
        }
        out.fixed64(TIME, self.time_nanos);
        match value {
            Number::I64(value) => out.fixed64(AS_INT, value as u64),
            Number::U64(value) if value <= i64::MAX as u64 => out.fixed64(AS_INT, value),
            number => out.double(AS_DOUBLE, number.as_f64()),
        }
        if let Some(exemplar) = exemplar {
            write_exemplar(out, EXEMPLARS, exemplar);
        }
    }

    /// A `HistogramDataPoint` with explicit bounds.
    fn explicit(&mut self, labels: &Labels<'_>, histogram: &HistogramValue<'_>) {
        use field::histogram::*;
        let distribution = histogram.distribution;
        self.attributes(ATTRIBUTES, labels, None);
        let out = &mut self.out;
        out.fixed64(START_TIME, self.start_nanos);
        out.fixed64(TIME, self.time_nanos);
        out.fixed64(COUNT, distribution.count);
        out.double(SUM, distribution.sum);
        // Counts per bucket, not cumulative; the last bucket is above the last bound.
        let counts = out.begin(BUCKET_COUNTS);
        let mut below = 0;
        for &(_, cumulative) in distribution.buckets {
            out.packed_fixed64(cumulative.saturating_sub(below));
            below = cumulative;
        }
        out.packed_fixed64(distribution.count.saturating_sub(below));
        out.end(counts);
        if !distribution.buckets.is_empty() {
            let bounds = out.begin(EXPLICIT_BOUNDS);
            for &(bound, _) in distribution.buckets {
                out.packed_fixed64(bound.to_bits());
            }
            out.end(bounds);
        }
        for exemplar in histogram.exemplars {
            write_exemplar(out, EXEMPLARS, exemplar);
        }
        if distribution.count > 0 {
            out.double(MIN, distribution.min);
            out.double(MAX, distribution.max);
        }
    }

    /// An `ExponentialHistogramDataPoint` of native buckets.
    fn exponential(
        &mut self,
        labels: &Labels<'_>,
        histogram: &HistogramValue<'_>,
        native: &NativeBuckets<'_>,
    ) {
        use field::exponential::*;
        let distribution = histogram.distribution;
        self.attributes(ATTRIBUTES, labels, None);
        let scale = native
            .schema
            .saturating_sub(reduction(native.positive).max(reduction(native.negative)));
        let shift = native.schema - scale;
        let out = &mut self.out;
        out.fixed64(START_TIME, self.start_nanos);
        out.fixed64(TIME, self.time_nanos);
        out.fixed64(COUNT, distribution.count);
        out.double(SUM, distribution.sum);
        out.sint64(SCALE, i64::from(scale));
        out.fixed64(ZERO_COUNT, native.zero_count);
        exponential_buckets(out, POSITIVE, native.positive, shift);
        exponential_buckets(out, NEGATIVE, native.negative, shift);
        for exemplar in histogram.exemplars {
            write_exemplar(out, EXEMPLARS, exemplar);
        }
        if distribution.count > 0 {
            out.double(MIN, distribution.min);
            out.double(MAX, distribution.max);
        }
        out.double(ZERO_THRESHOLD, native.zero_threshold);
    }
}

/// How many times the scale must be lowered for `buckets` to span at most
/// [`MAX_EXPONENTIAL_BUCKETS`].
fn reduction(buckets: &[(i32, u64)]) -> i32 {
    let (Some(&(first, _)), Some(&(last, _))) = (buckets.first(), buckets.last()) else {
        return 0;
    };
    let (first, last) = (otlp_index(first), otlp_index(last));
    let mut shift = 0;
    while (last >> shift) - (first >> shift) + 1 > MAX_EXPONENTIAL_BUCKETS {
        shift += 1;
    }
    shift
}

/// Prometheus's bucket `i` holds `(base^(i-1), base^i]`; OTLP's bucket `i` holds
/// `(base^i, base^(i+1)]`.
fn otlp_index(prometheus_index: i32) -> i64 {
    i64::from(prometheus_index) - 1
}

/// `Buckets`: the offset of the first and every count up to the last, gaps as zeros,
/// with indexes shifted right by `shift` (pairs of buckets merged `shift` times).
fn exponential_buckets(out: &mut Protobuf, field: u32, buckets: &[(i32, u64)], shift: i32) {
    let Some(&(first, _)) = buckets.first() else {
        return;
    };
    let first = otlp_index(first) >> shift;
    let message = out.begin(field);
    out.sint64(field::buckets::OFFSET, first);
    let counts = out.begin(field::buckets::BUCKET_COUNTS);
    let mut at = first;
    let mut count = 0u64;
    for &(index, n) in buckets {
        let index = otlp_index(index) >> shift;
        if index != at {
            out.packed_uint64(count);
            for _ in at + 1..index {
                out.packed_uint64(0);
            }
            at = index;
            count = 0;
        }
        count += n;
    }
    out.packed_uint64(count);
    out.end(counts);
    out.end(message);
}

/// A `KeyValue` with a string value, as field `field`.
pub(crate) fn string_attribute(out: &mut Protobuf, field: u32, key: &str, value: &str) {
    let pair = out.begin(field);
    out.string(field::key_value::KEY, key);
    let any = out.begin(field::key_value::VALUE);
    out.string(field::any_value::STRING, value);
    out.end(any);
    out.end(pair);
}

/// A `KeyValue` with an integer value, as field `field`.
pub(crate) fn int_attribute(out: &mut Protobuf, field: u32, key: &str, value: i64) {
    let pair = out.begin(field);
    out.string(field::key_value::KEY, key);
    let any = out.begin(field::key_value::VALUE);
    out.int64(field::any_value::INT, value);
    out.end(any);
    out.end(pair);
}

/// An `Exemplar`: `trace_id` and `span_id` labels (hexadecimal) become its ids, the
/// other labels its filtered attributes.
fn write_exemplar(out: &mut Protobuf, field: u32, exemplar: &Exemplar<'_>) {
    use field::exemplar::*;
    let message = out.begin(field);
    for &(name, value) in exemplar.labels {
        let id = match name {
            "trace_id" => hex::<16>(value).map(|id| (TRACE_ID, id.to_vec())),
            "span_id" => hex::<8>(value).map(|id| (SPAN_ID, id.to_vec())),
            _ => None,
        };
        match id {
            Some((id_field, id)) => out.bytes(id_field, &id),
            None => string_attribute(out, FILTERED_ATTRIBUTES, name, value),
        }
    }
    out.fixed64(TIME, (exemplar.timestamp * 1e9) as u64);
    out.double(AS_DOUBLE, exemplar.value);
    out.end(message);
}

/// `N` bytes written as `2N` hexadecimal digits.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut bytes = [0; N];
    for (at, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * at..2 * at + 2)?, 16).ok()?;
    }
    Some(bytes)
}

/// OTLP's units are UCUM: `s`, `By`, `1`.
fn ucum(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "s",
        Unit::Bytes => "By",
        Unit::Ratio => "1",
    }
}

impl Format for OtlpFormat<'_> {
    type Output = Encoded;

    fn family(&mut self, index: usize, head: &FamilyHead<'_>) {
        debug_assert_eq!(index, self.families.len());
        let start = self.help.len();
        self.help.push_str(head.help);
        self.families.push(Pending {
            help: start..self.help.len(),
            unit: head.unit,
            runs: [None, None],
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
        let point = self.out.begin(field::data::DATA_POINTS);
        let mut kind = MAIN;
        match value {
            MetricValue::Counter(number, exemplar) => {
                self.number(labels, None, number, true, exemplar);
            }
            MetricValue::Gauge(number) => self.number(labels, None, number, false, None),
            MetricValue::Info(value) => {
                self.number(
                    labels,
                    Some((INFO_LABEL, value)),
                    Number::I64(1),
                    false,
                    None,
                );
            }
            MetricValue::Histogram(histogram) => match histogram.native {
                Some(native) => {
                    kind = EXPONENTIAL;
                    self.exponential(labels, histogram, native);
                }
                None => self.explicit(labels, histogram),
            },
        }
        self.out.end(point);
        self.samples += 1;
        let piece = start..self.out.len();
        match &mut self.families[index].runs[kind] {
            Some(runs) => runs.add(piece),
            runs @ None => *runs = Some(Runs::new(piece)),
        }
    }

    fn mark(&self, families: usize) -> Mark {
        self.marked_samples.set(self.samples);
        Mark {
            families,
            position: self.out.len(),
        }
    }

    fn roll_back(&mut self, mark: Mark) {
        let start = mark.position;
        self.out.truncate(start, 0);
        self.samples = self.marked_samples.get();
        self.families.truncate(mark.families);
        let help_end = self.families.last().map_or(0, |family| family.help.end);
        self.help.truncate(help_end);
        for family in &mut self.families {
            for runs in &mut family.runs {
                if let Some(kept) = runs {
                    if kept.iter().next().is_some_and(|first| first.start >= start) {
                        *runs = None;
                    } else {
                        kept.roll_back(start);
                    }
                }
            }
        }
    }

    fn finish(self, families: &[Family]) -> Encoded {
        let points = self.out.as_bytes();
        // Every `Metric`'s header (name, description, unit) and the sizes around it.
        let mut heads = Protobuf::new();
        let mut metrics = Vec::new();
        let mut name = String::new();
        for (family, pending) in families.iter().zip(&self.families) {
            for (kind, runs) in pending.runs.iter().enumerate() {
                let Some(runs) = runs else { continue };
                let head_start = heads.len();
                name.clear();
                name.push_str(&family.name);
                if family.kind == FamilyType::Info {
                    name.push_str("_info");
                }
                heads.string(field::metric::NAME, &name);
                heads.string(field::metric::DESCRIPTION, &self.help[pending.help.clone()]);
                if let Some(unit) = pending.unit {
                    heads.string(field::metric::UNIT, ucum(unit));
                }
                let (data_field, extra) = match (family.kind, kind) {
                    (FamilyType::Counter, _) => (field::metric::SUM, 4),
                    (FamilyType::Gauge | FamilyType::Info, _) => (field::metric::GAUGE, 0),
                    (FamilyType::Histogram, MAIN) => (field::metric::HISTOGRAM, 2),
                    (FamilyType::Histogram, _) => (field::metric::EXPONENTIAL_HISTOGRAM, 2),
                };
                let data_len = runs.len() + extra;
                let head = head_start..heads.len();
                let metric_len = head.len() + field_len(data_field, data_len);
                metrics.push((head, data_field, data_len, metric_len, runs));
            }
        }
        let scope_len = scope_len();
        let scope_metrics_len = field_len(field::scope_metrics::SCOPE, scope_len)
            + metrics
                .iter()
                .map(|metric| field_len(field::scope_metrics::METRICS, metric.3))
                .sum::<usize>();
        let resource_metrics_len =
            field_len(field::resource_metrics::RESOURCE, self.resource.len())
                + field_len(field::resource_metrics::SCOPE_METRICS, scope_metrics_len);
        let total = field_len(field::request::RESOURCE_METRICS, resource_metrics_len);
        let mut out = Protobuf::with_buffer(Vec::with_capacity(total));
        out.len_field(field::request::RESOURCE_METRICS, resource_metrics_len);
        out.len_field(field::resource_metrics::RESOURCE, self.resource.len());
        out.raw(self.resource);
        out.len_field(field::resource_metrics::SCOPE_METRICS, scope_metrics_len);
        out.len_field(field::scope_metrics::SCOPE, scope_len);
        write_scope(&mut out);
        for (head, data_field, data_len, metric_len, runs) in metrics {
            out.len_field(field::scope_metrics::METRICS, metric_len);
            out.raw(&heads.as_bytes()[head]);
            out.len_field(data_field, data_len);
            for run in runs.iter() {
                out.raw(&points[run.clone()]);
            }
            if data_field != field::metric::GAUGE {
                out.uint64(field::data::AGGREGATION_TEMPORALITY, CUMULATIVE);
            }
            if data_field == field::metric::SUM {
                out.bool(field::data::IS_MONOTONIC, true);
            }
        }
        let request = out.into_inner();
        debug_assert_eq!(request.len(), total);
        Encoded {
            request,
            samples: self.samples,
            buffer: self.out.into_inner(),
        }
    }
}

/// The `InstrumentationScope`: `expvar` and its version.
fn write_scope(out: &mut Protobuf) {
    out.string(field::scope::NAME, "expvar");
    out.string(field::scope::VERSION, env!("CARGO_PKG_VERSION"));
}

fn scope_len() -> usize {
    let mut scope = Protobuf::new();
    write_scope(&mut scope);
    scope.len()
}

#[cfg(test)]
mod tests;
