//! A scrape of 10,000 series: expvar rendering them as Prometheus text (`/metrics`), in
//! the protobuf exposition and as JSON (`/debug/vars`), against the `prometheus` crate's `TextEncoder`,
//! `prometheus-client`'s, `measured`'s and `fastmetrics`' text encoders, on the same
//! data, in one run.
//!
//! `cargo bench --bench prometheus`. Each library holds 100 counter families of 100
//! series each (`bench_family_NNN_total{key="kNNN"}`), the same names and values; each
//! benchmark renders all of it as a scrape would (for `prometheus`, `gather` included).
//! The expvar document also carries the built-in variables (`memstats`, `build_info`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use prometheus::{Encoder as _, TextEncoder};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter as ClientCounter;
use prometheus_client::metrics::family::Family;

#[path = "prometheus/newer_peers.rs"]
mod newer_peers;
mod series;

use series::{family_name, key, prometheus_registry, value, FAMILIES, SERIES_PER_FAMILY};

fn expvar_registry() {
    for (name, map) in series::expvar_families() {
        expvar::publish(name, map).unwrap();
    }
}

fn client_registry() -> prometheus_client::registry::Registry {
    let mut registry = prometheus_client::registry::Registry::default();
    for family in 0..FAMILIES {
        let counters = Family::<Vec<(String, String)>, ClientCounter>::default();
        for series in 0..SERIES_PER_FAMILY {
            counters
                .get_or_create(&vec![("key".to_owned(), key(series))])
                .inc_by(value(family, series));
        }
        registry.register(family_name(family), "A bench family.", counters);
    }
    registry
}

fn render(c: &mut Criterion) {
    expvar_registry();
    let prometheus = prometheus_registry();
    let client = client_registry();
    let measured = newer_peers::measured_families();
    let fast = newer_peers::fastmetrics_registry(false);
    let fast_openmetrics = newer_peers::fastmetrics_registry(true);
    let openmetrics = PrometheusOptions::default().format(PrometheusFormat::OpenMetrics);

    let series = |text: &str| {
        text.lines()
            .filter(|line| line.starts_with("bench_family_"))
            .count()
    };
    assert_eq!(
        series(&expvar::to_prometheus()),
        FAMILIES * SERIES_PER_FAMILY
    );
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&prometheus.gather(), &mut text)
        .unwrap();
    assert_eq!(
        series(std::str::from_utf8(&text).unwrap()),
        FAMILIES * SERIES_PER_FAMILY
    );
    let mut text = String::new();
    encode(&mut text, &client).unwrap();
    assert_eq!(series(&text), FAMILIES * SERIES_PER_FAMILY);
    let mut encoder = measured::text::BufferedTextEncoder::new();
    let text = newer_peers::measured_encode(&measured, &mut encoder);
    assert_eq!(
        series(std::str::from_utf8(text.as_ref()).unwrap()),
        FAMILIES * SERIES_PER_FAMILY
    );
    assert_eq!(
        series(&newer_peers::fastmetrics_encode(&fast)),
        FAMILIES * SERIES_PER_FAMILY
    );
    let ours = expvar::prometheus::to_prometheus_with(&openmetrics);
    let theirs = newer_peers::fastmetrics_encode_openmetrics(&fast_openmetrics);
    for text in [&ours, &theirs] {
        assert_eq!(series(text), FAMILIES * SERIES_PER_FAMILY);
        assert!(text.contains("bench_family_007_total{key=\"k042\"} 742\n"));
        assert!(text.ends_with("# EOF\n"));
    }

    let mut group = c.benchmark_group("render_10k_series");
    group.throughput(Throughput::Elements((FAMILIES * SERIES_PER_FAMILY) as u64));
    group.bench_function("expvar_to_prometheus", |b| {
        b.iter(|| black_box(expvar::to_prometheus()))
    });
    group.bench_function("expvar_to_json", |b| {
        b.iter(|| black_box(expvar::to_json()))
    });
    // The same document in the protobuf exposition (what Prometheus asks for when it
    // scrapes native histograms).
    let options = expvar::prometheus::PrometheusOptions::new();
    group.bench_function("expvar_to_prometheus_protobuf", |b| {
        b.iter(|| black_box(expvar::prometheus::to_prometheus_protobuf(&options)))
    });
    group.bench_function("prometheus_text_encoder", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(512 * 1024);
            TextEncoder::new()
                .encode(&prometheus.gather(), &mut out)
                .unwrap();
            black_box(out)
        })
    });
    group.bench_function("prometheus_client_encode", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(512 * 1024);
            encode(&mut out, &client).unwrap();
            black_box(out)
        })
    });
    group.bench_function("measured_text_encoder", |b| {
        // measured's documented use: one encoder kept across scrapes.
        let mut encoder = measured::text::BufferedTextEncoder::new();
        b.iter(|| black_box(newer_peers::measured_encode(&measured, &mut encoder)))
    });
    group.bench_function("fastmetrics_text_encode", |b| {
        b.iter(|| black_box(newer_peers::fastmetrics_encode(&fast)))
    });
    group.finish();

    // The same series in OpenMetrics 1.0.0, against the peer that writes it.
    let mut group = c.benchmark_group("render_10k_series_openmetrics");
    group.throughput(Throughput::Elements((FAMILIES * SERIES_PER_FAMILY) as u64));
    group.bench_function("expvar_to_openmetrics", |b| {
        b.iter(|| black_box(expvar::prometheus::to_prometheus_with(&openmetrics)))
    });
    group.bench_function("fastmetrics_openmetrics_encode", |b| {
        b.iter(|| {
            black_box(newer_peers::fastmetrics_encode_openmetrics(
                &fast_openmetrics,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
