//! expvar against the peer crates, in one run: what a counter increment, a timed call
//! and a labelled increment cost, single-threaded and with 2 threads on one metric.
//!
//! `cargo bench --bench peers`; `scripts/bench-report` turns the results into tables.
//!
//! Every row is one call of an `#[inline(never)]` function doing one operation, so rows
//! compare like with like; `plain_fn` (an empty such function) is the call's own cost.
//! Rows named `*_calls_in_flight` record what `#[expvar::counted]` records per call
//! (calls, and calls in flight) with each peer's own types: see `peers/same_facts.rs`.

mod common;
#[path = "peers/newer_peers.rs"]
mod newer_peers;
#[path = "peers/same_facts.rs"]
mod same_facts;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

use common::run_on_threads;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

// ---- the rows: one operation each ------------------------------------------------

static BARE: AtomicU64 = AtomicU64::new(0);
static EXPVAR_COUNTER: expvar::Counter = expvar::Counter::new();
static EXPVAR_LABELLED: expvar::Map<expvar::Counter> = expvar::Map::with_label("key");

#[inline(never)]
fn plain_fn() {
    black_box(());
}

#[inline(never)]
fn bare_atomic_fetch_add() {
    black_box(&BARE).fetch_add(1, Relaxed);
}

#[inline(never)]
fn expvar_counter_inc() {
    black_box(&EXPVAR_COUNTER).inc();
}

#[expvar::counted(name = "bench_counted_fn")]
#[inline(never)]
fn expvar_counted_fn() {
    black_box(());
}

#[inline(never)]
fn metrics_counter_macro() {
    metrics::counter!("bench_metrics_macro").increment(1);
}

fn metrics_handle() -> &'static metrics::Counter {
    static HANDLE: OnceLock<metrics::Counter> = OnceLock::new();
    HANDLE.get_or_init(|| metrics::counter!("bench_metrics_handle"))
}

#[inline(never)]
fn metrics_counter_handle() {
    black_box(metrics_handle()).increment(1);
}

fn prometheus_counter() -> &'static prometheus::IntCounter {
    static COUNTER: OnceLock<prometheus::IntCounter> = OnceLock::new();
    COUNTER.get_or_init(|| prometheus::IntCounter::new("bench_prometheus", "bench").unwrap())
}

#[inline(never)]
fn prometheus_int_counter() {
    black_box(prometheus_counter()).inc();
}

fn prometheus_client_counter() -> &'static prometheus_client::metrics::counter::Counter {
    static COUNTER: OnceLock<prometheus_client::metrics::counter::Counter> = OnceLock::new();
    COUNTER.get_or_init(Default::default)
}

#[inline(never)]
fn prometheus_client_counter_inc() {
    black_box(prometheus_client_counter()).inc();
}

#[derive(Default, Debug)]
pub struct MeteredService {
    metrics: MeteredServiceMetrics,
}

#[metered::metered(registry = MeteredServiceMetrics)]
impl MeteredService {
    #[measure(metered::HitCount)]
    #[inline(never)]
    pub fn hit(&self) {
        black_box(());
    }

    #[measure(metered::ResponseTime)]
    #[inline(never)]
    pub fn timed(&self) {
        black_box(());
    }
}

fn metered_service() -> &'static MeteredService {
    static SERVICE: OnceLock<MeteredService> = OnceLock::new();
    SERVICE.get_or_init(MeteredService::default)
}

#[inline(never)]
fn metered_hit_count() {
    black_box(metered_service()).hit();
}

#[autometrics::autometrics]
#[inline(never)]
fn autometrics_fn() {
    black_box(());
}

// Timing rows.

#[inline(never)]
fn plain_two_instant_now() {
    let start = Instant::now();
    black_box(());
    black_box(start.elapsed());
}

/// The goal's yardstick for `#[timed]`: two clock reads plus one atomic add.
#[inline(never)]
fn plain_two_instant_now_and_atomic_add() {
    let start = Instant::now();
    black_box(());
    BARE.fetch_add(black_box(start.elapsed()).subsec_nanos().into(), Relaxed);
}

#[expvar::timed(name = "bench_timed_fn")]
#[inline(never)]
fn expvar_timed_fn() {
    black_box(());
}

fn metrics_histogram() -> &'static metrics::Histogram {
    static HANDLE: OnceLock<metrics::Histogram> = OnceLock::new();
    HANDLE.get_or_init(|| metrics::histogram!("bench_metrics_histogram"))
}

#[inline(never)]
fn metrics_histogram_timed() {
    let start = Instant::now();
    black_box(());
    metrics_histogram().record(start.elapsed());
}

fn prometheus_histogram() -> &'static prometheus::Histogram {
    static HISTOGRAM: OnceLock<prometheus::Histogram> = OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("bench_hist", "bench"))
            .unwrap()
    })
}

#[inline(never)]
fn prometheus_histogram_timer() {
    let _timer = prometheus_histogram().start_timer();
    black_box(());
}

fn prometheus_client_histogram() -> &'static prometheus_client::metrics::histogram::Histogram {
    static HISTOGRAM: OnceLock<prometheus_client::metrics::histogram::Histogram> = OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        prometheus_client::metrics::histogram::Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.000_001, 4.0, 12),
        )
    })
}

#[inline(never)]
fn prometheus_client_histogram_timed() {
    let start = Instant::now();
    black_box(());
    prometheus_client_histogram().observe(start.elapsed().as_secs_f64());
}

#[inline(never)]
fn metered_response_time() {
    black_box(metered_service()).timed();
}

// Labelled rows: one label, a key that already exists.

#[inline(never)]
fn expvar_map_add() {
    EXPVAR_LABELLED.add(black_box("GET"), 1);
}

#[inline(never)]
fn metrics_counter_labelled() {
    metrics::counter!("bench_metrics_labelled", "method" => "GET").increment(1);
}

fn prometheus_counter_vec() -> &'static prometheus::IntCounterVec {
    static VEC: OnceLock<prometheus::IntCounterVec> = OnceLock::new();
    VEC.get_or_init(|| {
        prometheus::IntCounterVec::new(prometheus::Opts::new("bench_vec", "bench"), &["method"])
            .unwrap()
    })
}

#[inline(never)]
fn prometheus_with_label_values() {
    prometheus_counter_vec()
        .with_label_values(&[black_box("GET")])
        .inc();
}

type ClientFamily = prometheus_client::metrics::family::Family<
    Vec<(String, String)>,
    prometheus_client::metrics::counter::Counter,
>;

fn prometheus_client_family() -> &'static (ClientFamily, Vec<(String, String)>) {
    static FAMILY: OnceLock<(ClientFamily, Vec<(String, String)>)> = OnceLock::new();
    FAMILY.get_or_init(|| {
        (
            ClientFamily::default(),
            vec![("method".into(), "GET".into())],
        )
    })
}

#[inline(never)]
fn prometheus_client_family_inc() {
    let (family, labels) = prometheus_client_family();
    family.get_or_create(black_box(labels)).inc();
}

// ---- the groups ------------------------------------------------------------------

type Row = (&'static str, fn());

const COUNTER_ROWS: [Row; 19] = [
    ("plain_fn", plain_fn),
    ("bare_atomic_fetch_add", bare_atomic_fetch_add),
    ("expvar_counter_inc", expvar_counter_inc),
    ("expvar_counted_fn", expvar_counted_fn),
    ("metrics_counter_macro", metrics_counter_macro),
    ("metrics_counter_handle", metrics_counter_handle),
    ("prometheus_int_counter", prometheus_int_counter),
    ("prometheus_client_counter", prometheus_client_counter_inc),
    ("metered_hit_count", metered_hit_count),
    ("autometrics_fn", autometrics_fn),
    ("measured_counter", newer_peers::measured_counter_inc),
    ("fastmetrics_counter", newer_peers::fastmetrics_counter_inc),
    ("prometheus_calls_in_flight", same_facts::prometheus),
    (
        "prometheus_client_calls_in_flight",
        same_facts::prometheus_client,
    ),
    ("metrics_calls_in_flight", same_facts::metrics),
    ("measured_calls_in_flight", same_facts::measured),
    ("fastmetrics_calls_in_flight", same_facts::fastmetrics),
    ("metered_calls_in_flight", same_facts::metered),
    ("autometrics_calls_in_flight", same_facts::autometrics),
];

const TIMING_ROWS: [Row; 10] = [
    ("plain_two_instant_now", plain_two_instant_now),
    (
        "plain_two_instant_now_and_atomic_add",
        plain_two_instant_now_and_atomic_add,
    ),
    ("expvar_timed_fn", expvar_timed_fn),
    ("metrics_histogram", metrics_histogram_timed),
    ("prometheus_histogram_timer", prometheus_histogram_timer),
    (
        "prometheus_client_histogram",
        prometheus_client_histogram_timed,
    ),
    ("metered_response_time", metered_response_time),
    ("autometrics_fn", autometrics_fn),
    (
        "measured_histogram_timer",
        newer_peers::measured_histogram_timer,
    ),
    (
        "fastmetrics_histogram",
        newer_peers::fastmetrics_histogram_timed,
    ),
];

const LABELLED_ROWS: [Row; 6] = [
    ("expvar_map_add", expvar_map_add),
    ("metrics_counter_labelled", metrics_counter_labelled),
    ("prometheus_with_label_values", prometheus_with_label_values),
    ("prometheus_client_family", prometheus_client_family_inc),
    (
        "measured_counter_vec",
        newer_peers::measured_counter_vec_inc,
    ),
    ("fastmetrics_family", newer_peers::fastmetrics_family_inc),
];

fn install_recorders() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // `metrics` rows go through a real Prometheus recorder, as in production.
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("install the metrics recorder");
    });
}

fn bench_rows(c: &mut Criterion, group: &str, rows: &[Row]) {
    install_recorders();
    for threads in [1_usize, 2] {
        let mut bench_group = c.benchmark_group(format!("{group}/{threads}_threads"));
        bench_group.throughput(Throughput::Elements(threads as u64));
        for &(name, op) in rows {
            bench_group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| run_on_threads(threads, iters, &op))
            });
        }
        bench_group.finish();
    }
}

fn counter(c: &mut Criterion) {
    bench_rows(c, "counter", &COUNTER_ROWS);
}

fn timing(c: &mut Criterion) {
    bench_rows(c, "timing", &TIMING_ROWS);
}

fn labelled(c: &mut Criterion) {
    bench_rows(c, "labelled", &LABELLED_ROWS);
}

criterion_group!(benches, counter, timing, labelled);
criterion_main!(benches);
