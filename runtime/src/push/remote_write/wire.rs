//! Prometheus remote write 1.0: the mapping's metrics as a `prometheus.WriteRequest`
//! (<https://prometheus.io/docs/specs/prw/remote_write_spec/>).
//!
//! Every sample is a `TimeSeries` of its own, named and labelled as the text format
//! writes it: `__name__` is `name_total` for a counter, `name_info` (with the `value`
//! label) for a string, `name_bucket` (with `le`, written as the text format writes
//! it), `name_sum` and `name_count` for a histogram. Labels are sorted by name, as the
//! spec requires (so `__name__` comes first unless a label name begins with a capital
//! letter). Each sample carries the time of the reading, in milliseconds. Counters and
//! histogram buckets carry their exemplars. Native buckets are not sent: remote write
//! 1.0 has no native histograms (Prometheus 2.42's receiver takes classic series
//! only); a native histogram sends its `le` buckets (`+Inf` at least), sum and count.
//! Each family's type, help and unit go in the request's `metadata`.

use std::cell::Cell;
use std::ops::Range;

use crate::encode::prometheus::format::{
    FamilyHead, Format, HistogramValue, Labels, Mark, MetricValue,
};
use crate::encode::prometheus::{push_f64, Family, FamilyType, INFO_LABEL};
use crate::encode::protobuf::Protobuf;
use crate::vars::{Exemplar, Unit};

/// Field numbers of `prometheus/prompb` (`remote.proto`, `types.proto`).
mod field {
    pub(super) mod request {
        pub(crate) const TIMESERIES: u32 = 1;
        pub(crate) const METADATA: u32 = 3;
    }
    pub(super) mod series {
        pub(crate) const LABELS: u32 = 1;
        pub(crate) const SAMPLES: u32 = 2;
        pub(crate) const EXEMPLARS: u32 = 3;
    }
    pub(super) mod label {
        pub(crate) const NAME: u32 = 1;
        pub(crate) const VALUE: u32 = 2;
    }
    /// `Sample` and `Exemplar` (whose labels are field 1).
    pub(super) mod sample {
        pub(crate) const VALUE: u32 = 1;
        pub(crate) const TIMESTAMP: u32 = 2;
    }
    pub(super) mod exemplar {
        pub(crate) const LABELS: u32 = 1;
        pub(crate) const VALUE: u32 = 2;
        pub(crate) const TIMESTAMP: u32 = 3;
    }
    pub(super) mod metadata {
        pub(crate) const TYPE: u32 = 1;
        pub(crate) const FAMILY_NAME: u32 = 2;
        pub(crate) const HELP: u32 = 4;
        pub(crate) const UNIT: u32 = 5;
    }
}

/// `MetricMetadata.MetricType`.
const COUNTER: u64 = 1;
const GAUGE: u64 = 2;
const HISTOGRAM: u64 = 3;

/// The encoded request, and how many samples it holds.
pub(crate) struct Encoded {
    pub(crate) request: Vec<u8>,
    pub(crate) samples: usize,
}

/// A `WriteRequest` being written.
pub(crate) struct RemoteWriteFormat {
    out: Protobuf,
    timestamp_millis: i64,
    samples: usize,
    /// `samples` when the last mark was taken.
    marked_samples: Cell<usize>,
    /// Per family: its help (in `help`), unit, and whether it has samples.
    families: Vec<Head>,
    help: String,
    /// One metric's labels, sorted by name: ranges of `label_text`.
    labels: Vec<(Range<usize>, Range<usize>)>,
    label_text: String,
    /// A sample's name.
    name: String,
    /// A bucket's `le`.
    le: Vec<u8>,
}

struct Head {
    help: Range<usize>,
    unit: Option<Unit>,
    used: bool,
}

impl RemoteWriteFormat {
    /// A request of samples taken at `timestamp_millis`, written into `buffer` (emptied;
    /// its capacity is reused).
    pub(crate) fn new(buffer: Vec<u8>, families: usize, timestamp_millis: i64) -> Self {
        let mut buffer = buffer;
        buffer.clear();
        RemoteWriteFormat {
            out: Protobuf::with_buffer(buffer),
            timestamp_millis,
            samples: 0,
            marked_samples: Cell::new(0),
            families: Vec::with_capacity(families),
            help: String::new(),
            labels: Vec::new(),
            label_text: String::new(),
            name: String::new(),
            le: Vec::new(),
        }
    }

    /// Keeps `labels`, sorted by name.
    fn take_labels(&mut self, labels: &Labels<'_>) {
        self.labels.clear();
        self.label_text.clear();
        for (name, value) in labels.pairs() {
            let text = &mut self.label_text;
            let name_at = text.len()..text.len() + name.len();
            text.push_str(name);
            let value_at = text.len()..text.len() + value.len();
            text.push_str(&value);
            self.labels.push((name_at, value_at));
        }
        let text = &self.label_text;
        if !self
            .labels
            .windows(2)
            .all(|pair| text[pair[0].0.clone()] <= text[pair[1].0.clone()])
        {
            self.labels
                .sort_by(|a, b| text[a.0.clone()].cmp(&text[b.0.clone()]));
        }
    }

    /// One `TimeSeries` of one sample: `__name__` is `family` + `suffix`, the labels
    /// taken, and `special` (`le`, or a string's `value`) in its place among them.
    fn series(
        &mut self,
        family: &str,
        suffix: &str,
        special: Option<(&str, &str)>,
        value: f64,
        exemplar: Option<&Exemplar<'_>>,
    ) {
        self.name.clear();
        self.name.push_str(family);
        self.name.push_str(suffix);
        let out = &mut self.out;
        let series = out.begin(field::request::TIMESERIES);
        let mut name = Some(("__name__", self.name.as_str()));
        let mut special = special;
        for (name_at, value_at) in &self.labels {
            let label_name = &self.label_text[name_at.clone()];
            for pending in [&mut name, &mut special] {
                if let Some(first) = pending.take_if(|(first, _)| *first < label_name) {
                    label(out, field::series::LABELS, first.0, first.1);
                }
            }
            label(
                out,
                field::series::LABELS,
                label_name,
                &self.label_text[value_at.clone()],
            );
        }
        for (name, value) in name.into_iter().chain(special) {
            label(out, field::series::LABELS, name, value);
        }
        let sample = out.begin(field::series::SAMPLES);
        out.double(field::sample::VALUE, value);
        out.int64(field::sample::TIMESTAMP, self.timestamp_millis);
        out.end(sample);
        if let Some(exemplar) = exemplar {
            let message = out.begin(field::series::EXEMPLARS);
            for &(name, value) in exemplar.labels {
                label(out, field::exemplar::LABELS, name, value);
            }
            out.double(field::exemplar::VALUE, exemplar.value);
            out.int64(
                field::exemplar::TIMESTAMP,
                (exemplar.timestamp * 1000.0).round() as i64,
            );
            out.end(message);
        }
        out.end(series);
        self.samples += 1;
    }

    fn histogram(&mut self, name: &str, histogram: &HistogramValue<'_>) {
        let distribution = histogram.distribution;
        let mut lower = f64::NEG_INFINITY;
        let mut le = std::mem::take(&mut self.le);
        for &(bound, count) in distribution.buckets {
            le.clear();
            push_f64(&mut le, bound);
            let le = std::str::from_utf8(&le).expect("a number is ASCII");
            let exemplar = histogram.exemplar_in(lower, bound);
            lower = bound;
            self.series(name, "_bucket", Some(("le", le)), count as f64, exemplar);
        }
        self.le = le;
        let count = distribution.count as f64;
        let exemplar = histogram.exemplar_in(lower, f64::INFINITY);
        self.series(name, "_bucket", Some(("le", "+Inf")), count, exemplar);
        self.series(name, "_sum", None, distribution.sum, None);
        self.series(name, "_count", None, count, None);
    }
}

/// A `Label` as field `field`.
fn label(out: &mut Protobuf, field: u32, name: &str, value: &str) {
    let pair = out.begin(field);
    out.string(field::label::NAME, name);
    out.string(field::label::VALUE, value);
    out.end(pair);
}

impl Format for RemoteWriteFormat {
    type Output = Encoded;

    fn family(&mut self, index: usize, head: &FamilyHead<'_>) {
        debug_assert_eq!(index, self.families.len());
        let start = self.help.len();
        self.help.push_str(head.help);
        self.families.push(Head {
            help: start..self.help.len(),
            unit: head.unit,
            used: false,
        });
    }

    fn metric(
        &mut self,
        index: usize,
        family: &Family,
        labels: &Labels<'_>,
        value: MetricValue<'_>,
    ) {
        self.families[index].used = true;
        self.take_labels(labels);
        let name = family.name.as_str();
        match value {
            MetricValue::Counter(number, exemplar) => {
                self.series(name, "_total", None, number.as_f64(), exemplar);
            }
            MetricValue::Gauge(number) => self.series(name, "", None, number.as_f64(), None),
            MetricValue::Info(value) => {
                self.series(name, "_info", Some((INFO_LABEL, value)), 1.0, None);
            }
            MetricValue::Histogram(histogram) => self.histogram(name, histogram),
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
        self.out.truncate(mark.position, 0);
        self.samples = self.marked_samples.get();
        self.families.truncate(mark.families);
        let help_end = self.families.last().map_or(0, |head| head.help.end);
        self.help.truncate(help_end);
    }

    fn finish(mut self, families: &[Family]) -> Encoded {
        for (family, head) in families.iter().zip(&self.families) {
            if !head.used {
                continue;
            }
            let (suffix, kind) = match family.kind {
                FamilyType::Counter => ("_total", COUNTER),
                FamilyType::Gauge => ("", GAUGE),
                FamilyType::Histogram => ("", HISTOGRAM),
                FamilyType::Info => ("_info", GAUGE),
            };
            self.name.clear();
            self.name.push_str(&family.name);
            self.name.push_str(suffix);
            let out = &mut self.out;
            let metadata = out.begin(field::request::METADATA);
            out.uint64(field::metadata::TYPE, kind);
            out.string(field::metadata::FAMILY_NAME, &self.name);
            out.string(field::metadata::HELP, &self.help[head.help.clone()]);
            if let Some(unit) = head.unit {
                out.string(field::metadata::UNIT, unit.as_str());
            }
            out.end(metadata);
        }
        Encoded {
            request: self.out.into_inner(),
            samples: self.samples,
        }
    }
}

#[cfg(test)]
mod tests;
