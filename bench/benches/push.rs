//! One push of 10,000 series, encoded and compressed as it goes on the wire: expvar's
//! remote write and OTLP against `prometheus-reqwest-remote-write` (the `prometheus`
//! crate's families as a `WriteRequest`) and OpenTelemetry's SDK with the encoding its
//! OTLP exporter does (`ExportMetricsServiceRequest::from(&ResourceMetrics)`, prost,
//! gzip), in one run. No network: each benchmark stops where the request body is ready.
//!
//! `cargo bench --bench push`. Each library holds 100 counter families of 100 series
//! each (`bench_family_NNN_total{key="kNNN"}`), the same names and values; each push
//! reads all of it (for the peers, `gather`/`collect` included). Before the timings,
//! the allocations of one push of each are counted by this bench's global allocator and
//! printed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use expvar::{Otlp, Registry, RemoteWrite};
use opentelemetry_metrics::metrics::MeterProvider as _;
use opentelemetry_metrics::KeyValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use prometheus_reqwest_remote_write::WriteRequest;
use prost::Message as _;

mod series;

use series::{family_name, key, prometheus_registry, value, FAMILIES, SERIES, SERIES_PER_FAMILY};

/// Counts every allocation (and reallocation) of the process.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn expvar_registry() -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    for (name, map) in series::expvar_families() {
        registry.publish(name, map).unwrap();
    }
    registry
}

/// The SDK's manual reader, shared with the meter provider that owns a registration.
#[derive(Clone)]
struct SharedReader(Arc<ManualReader>);

impl fmt::Debug for SharedReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// An SDK meter provider with the same counters, and the reader to collect them.
fn opentelemetry_sdk() -> (SdkMeterProvider, SharedReader) {
    let reader = SharedReader(Arc::new(
        ManualReader::builder()
            .with_temporality(Temporality::Cumulative)
            .build(),
    ));
    let provider = SdkMeterProvider::builder()
        .with_reader(reader.clone())
        .build();
    let meter = provider.meter("bench");
    for family in 0..FAMILIES {
        let counter = meter.u64_counter(family_name(family)).build();
        for series in 0..SERIES_PER_FAMILY {
            counter.add(value(family, series), &[KeyValue::new("key", key(series))]);
        }
    }
    (provider, reader)
}

/// What OpenTelemetry's OTLP/HTTP exporter does with a collection: the proto request,
/// prost's encoding, and gzip if asked (`flate2`'s default level, as the exporter).
fn opentelemetry_push(reader: &SharedReader, gzip: bool) -> Vec<u8> {
    let mut metrics = ResourceMetrics::default();
    reader.collect(&mut metrics).unwrap();
    let request = ExportMetricsServiceRequest::from(&metrics);
    let body = request.encode_to_vec();
    if !gzip {
        return body;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).unwrap();
    encoder.finish().unwrap()
}

/// What `prometheus-reqwest-remote-write` sends for a registry: its families as a
/// sorted `WriteRequest`, snappy-compressed.
fn prometheus_push(registry: &prometheus::Registry) -> Vec<u8> {
    WriteRequest::from_metric_families(registry.gather(), None)
        .unwrap()
        .encode_compressed()
        .unwrap()
}

/// Allocations made by one call of `push`, and the bytes it gave.
fn allocations(push: impl Fn() -> Vec<u8>) -> (u64, usize) {
    // Once first: lazily built state (thread locals, caches) is not a push's.
    drop(black_box(push()));
    let before = ALLOCATIONS.load(Relaxed);
    let body = black_box(push());
    (ALLOCATIONS.load(Relaxed) - before, body.len())
}

fn push(c: &mut Criterion) {
    let registry = expvar_registry();
    let url = "http://127.0.0.1:9/api/v1/write";
    let remote_write = RemoteWrite::new(url).registry(Arc::clone(&registry));
    let otlp = Otlp::new(url)
        .registry(Arc::clone(&registry))
        .service_name("bench");
    let otlp_gzip = otlp.clone().gzip(true);
    let prometheus = prometheus_registry();
    let (_provider, reader) = opentelemetry_sdk();

    // Every contender pushes the 10,000 series (expvar adds its `build_info`).
    let body = otlp.encode().unwrap();
    let last = family_name(FAMILIES - 1);
    assert!(body.windows(last.len()).any(|w| w == last.as_bytes()));
    assert!(body.len() > SERIES * 30, "{} bytes", body.len());
    let gathered: usize = prometheus
        .gather()
        .iter()
        .map(|family| family.get_metric().len())
        .sum();
    assert_eq!(gathered, SERIES);
    let mut collected = ResourceMetrics::default();
    reader.collect(&mut collected).unwrap();
    let request = ExportMetricsServiceRequest::from(&collected);
    let points: usize = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|metric| match &metric.data {
            Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) => {
                sum.data_points.len()
            }
            _ => 0,
        })
        .sum();
    assert_eq!(points, SERIES);

    let contenders: [(&str, &dyn Fn() -> Vec<u8>); 6] = [
        ("expvar RemoteWrite (snappy)", &|| {
            remote_write.encode().unwrap()
        }),
        ("prometheus-reqwest-remote-write (snappy)", &|| {
            prometheus_push(&prometheus)
        }),
        ("expvar Otlp (protobuf)", &|| otlp.encode().unwrap()),
        ("opentelemetry-otlp encoding (protobuf)", &|| {
            opentelemetry_push(&reader, false)
        }),
        ("expvar Otlp (gzip)", &|| otlp_gzip.encode().unwrap()),
        ("opentelemetry-otlp encoding (gzip)", &|| {
            opentelemetry_push(&reader, true)
        }),
    ];
    for (name, push) in &contenders {
        let (allocations, bytes) = allocations(push);
        println!("allocations per push: {name}: {allocations} ({bytes} bytes)");
    }

    let mut group = c.benchmark_group("push_10k_series");
    group.throughput(Throughput::Elements(SERIES as u64));
    for (name, push) in contenders {
        group.bench_function(name, |b| b.iter(|| black_box(push())));
    }
    group.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
