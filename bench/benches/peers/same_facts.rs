//! "Same facts" rows: what `#[expvar::counted]` records per call (one more call, and
//! one more call in flight until it returns), written with each peer's own types, to
//! set beside `expvar_counted_fn`. Where a peer has no in-flight concept of its own
//! this is its documented way: a counter increment plus a gauge increment and
//! decrement around the body. `autometrics` cannot leave out its latency histogram,
//! so its row records a duration as well.

use std::hint::black_box;
use std::sync::OnceLock;

use super::newer_peers;

fn prometheus_metrics() -> &'static (prometheus::IntCounter, prometheus::IntGauge) {
    static METRICS: OnceLock<(prometheus::IntCounter, prometheus::IntGauge)> = OnceLock::new();
    METRICS.get_or_init(|| {
        (
            prometheus::IntCounter::new("bench_calls", "bench").unwrap(),
            prometheus::IntGauge::new("bench_in_flight", "bench").unwrap(),
        )
    })
}

#[inline(never)]
pub fn prometheus() {
    let (calls, in_flight) = prometheus_metrics();
    calls.inc();
    in_flight.inc();
    black_box(());
    in_flight.dec();
}

type ClientMetrics = (
    prometheus_client::metrics::counter::Counter,
    prometheus_client::metrics::gauge::Gauge,
);

fn prometheus_client_metrics() -> &'static ClientMetrics {
    static METRICS: OnceLock<ClientMetrics> = OnceLock::new();
    METRICS.get_or_init(Default::default)
}

#[inline(never)]
pub fn prometheus_client() {
    let (calls, in_flight) = prometheus_client_metrics();
    calls.inc();
    in_flight.inc();
    black_box(());
    in_flight.dec();
}

fn metrics_handles() -> &'static (metrics::Counter, metrics::Gauge) {
    static HANDLES: OnceLock<(metrics::Counter, metrics::Gauge)> = OnceLock::new();
    HANDLES.get_or_init(|| {
        (
            metrics::counter!("bench_metrics_calls"),
            metrics::gauge!("bench_metrics_in_flight"),
        )
    })
}

#[inline(never)]
pub fn metrics() {
    let (calls, in_flight) = metrics_handles();
    calls.increment(1);
    in_flight.increment(1.0);
    black_box(());
    in_flight.decrement(1.0);
}

#[inline(never)]
pub fn measured() {
    let metrics = newer_peers::measured();
    metrics.calls.inc();
    metrics.in_flight.inc();
    black_box(());
    metrics.in_flight.dec();
}

#[inline(never)]
pub fn fastmetrics() {
    let metrics = newer_peers::fastmetrics();
    metrics.calls.inc();
    metrics.in_flight.inc();
    black_box(());
    metrics.in_flight.dec();
}

#[derive(Default, Debug)]
pub struct MeteredCalls {
    metrics: MeteredCallsMetrics,
}

#[metered::metered(registry = MeteredCallsMetrics)]
impl MeteredCalls {
    #[measure([metered::HitCount, metered::InFlight])]
    #[inline(never)]
    pub fn call(&self) {
        black_box(());
    }
}

#[inline(never)]
pub fn metered() {
    static SERVICE: OnceLock<MeteredCalls> = OnceLock::new();
    black_box(SERVICE.get_or_init(MeteredCalls::default)).call();
}

#[autometrics::autometrics(track_concurrency)]
#[inline(never)]
pub fn autometrics() {
    black_box(());
}
