//! Rows of the peers `measured` and `fastmetrics`, each through its fastest documented
//! API: `measured` with a `#[derive(MetricGroup)]` struct and a fixed-cardinality label
//! (the label value is an enum, turned into an index without hashing); `fastmetrics`
//! with its `Counter`, a `Family` keyed by a label struct, and its `Histogram`.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use fastmetrics::encoder::{EncodeLabelSet, EncodeLabelValue, LabelEncoder, LabelSetEncoder};
use fastmetrics::raw::LabelSetSchema;
use measured::metric::histogram::Thresholds;

/// The labelled rows' key: `method="GET"`, as the other labelled rows use.
#[derive(measured::FixedCardinalityLabel, Clone, Copy, PartialEq, Eq, Hash)]
#[label(rename_all = "SHOUTY_SNAKE_CASE")]
pub enum Method {
    Get,
    Post,
}

#[derive(measured::LabelGroup)]
#[label(set = MethodSet)]
pub struct MethodLabel {
    method: Method,
}

/// The same bucket layout as the `prometheus-client` timing row.
const BUCKETS: usize = 12;

fn thresholds() -> Thresholds<BUCKETS> {
    Thresholds::exponential_buckets(0.000_001, 4.0)
}

#[derive(measured::MetricGroup)]
#[metric(new())]
pub struct MeasuredMetrics {
    /// Bench counter.
    counter: measured::Counter,
    /// Bench labelled counter.
    #[metric(label_set = MethodSet::new())]
    labelled: measured::CounterVec<MethodSet>,
    /// Bench durations.
    #[metric(metadata = thresholds())]
    duration: measured::Histogram<BUCKETS>,
    /// Calls of the same-facts row.
    pub calls: measured::Counter,
    /// Calls in flight of the same-facts row.
    pub in_flight: measured::Gauge,
}

pub fn measured() -> &'static MeasuredMetrics {
    static METRICS: OnceLock<MeasuredMetrics> = OnceLock::new();
    METRICS.get_or_init(MeasuredMetrics::new)
}

#[inline(never)]
pub fn measured_counter_inc() {
    black_box(measured()).counter.inc();
}

#[inline(never)]
pub fn measured_counter_vec_inc() {
    measured().labelled.inc(MethodLabel {
        method: black_box(Method::Get),
    });
}

#[inline(never)]
pub fn measured_histogram_timer() {
    let _timer = measured().duration.start_timer();
    black_box(());
}

// fastmetrics

impl EncodeLabelValue for Method {
    fn encode(&self, encoder: &mut dyn LabelEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_str_value(match self {
            Method::Get => "GET",
            Method::Post => "POST",
        })
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FastLabels {
    method: Method,
}

impl LabelSetSchema for FastLabels {
    fn names() -> Option<&'static [&'static str]> {
        Some(&["method"])
    }
}

impl EncodeLabelSet for FastLabels {
    fn encode(&self, encoder: &mut dyn LabelSetEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode(&("method", &self.method))
    }
}

pub struct FastMetrics {
    counter: fastmetrics::metrics::counter::Counter,
    labelled:
        fastmetrics::metrics::family::Family<FastLabels, fastmetrics::metrics::counter::Counter>,
    duration: fastmetrics::metrics::histogram::Histogram,
    pub calls: fastmetrics::metrics::counter::Counter,
    pub in_flight: fastmetrics::metrics::gauge::Gauge,
}

pub fn fastmetrics() -> &'static FastMetrics {
    static METRICS: OnceLock<FastMetrics> = OnceLock::new();
    METRICS.get_or_init(|| FastMetrics {
        counter: Default::default(),
        labelled: Default::default(),
        duration: fastmetrics::metrics::histogram::Histogram::new(
            fastmetrics::metrics::histogram::exponential_buckets(0.000_001, 4.0, BUCKETS),
        ),
        calls: Default::default(),
        in_flight: Default::default(),
    })
}

#[inline(never)]
pub fn fastmetrics_counter_inc() {
    black_box(fastmetrics()).counter.inc();
}

#[inline(never)]
pub fn fastmetrics_family_inc() {
    let labels = FastLabels {
        method: black_box(Method::Get),
    };
    fastmetrics()
        .labelled
        .with_or_new(&labels, |counter| counter.inc());
}

#[inline(never)]
pub fn fastmetrics_histogram_timed() {
    let start = Instant::now();
    black_box(());
    fastmetrics()
        .duration
        .observe(start.elapsed().as_secs_f64());
}
