//! End to end with a real Prometheus scraping native histograms: Debian's Prometheus
//! 2.42, started with `--enable-feature=native-histograms,exemplar-storage`, scrapes
//! `examples/native.rs` in the protobuf exposition. `histogram_count` and
//! `histogram_sum` of its 10,000 known values are exact, `histogram_quantile` is within
//! the schema's bucket width of the true quantiles, a `#[timed(native)]` function is a
//! native histogram whose series the shipped Grafana dashboard's latency panels read,
//! and `/api/v1/query_exemplars` returns the trace ids the example recorded.
//!
//! Needs `prometheus` and `promtool` on `PATH` (Debian package `prometheus`). Without
//! them the test says why and passes, unless `EXPVAR_REQUIRE_E2E=1`, when it fails.
#![cfg(feature = "server")]

use expvar_test_support as support;
use serde_json::Value;
use support::prometheus::{dashboard_expressions, promtool, Prometheus};
use support::{try_get, url_encode, wait_for};

/// The values `examples/native.rs` records into `latency_seconds`, in its order.
fn values() -> Vec<f64> {
    (0..10_000)
        .map(|i| 0.001 * 10_000f64.powf(f64::from(i) / 9_999.0))
        .collect()
}

#[test]
fn prometheus_reads_native_histograms_and_exemplars_in_protobuf() {
    if !Prometheus::available() {
        return;
    }
    let (example, addr) = support::start_example("native");
    // Scrapers of text still get a valid document: count, sum and the classic buckets.
    let text = try_get(addr, "/metrics", &[]).unwrap();
    promtool(&["check", "metrics"], Some(&text.body));
    assert!(
        text.body.contains("\nlatency_seconds_count 10000\n"),
        "{}",
        text.body
    );

    let prometheus = Prometheus::start(
        &format!(
            "scrape_configs:\n  - job_name: native\n    static_configs:\n      \
             - targets: [\"{addr}\"]\n"
        ),
        &["--enable-feature=native-histograms,exemplar-storage"],
    );
    let job = "job=\"native\"";
    let count = wait_for("the native histogram", || {
        prometheus.value_of(&format!("histogram_count(latency_seconds{{{job}}})"))
    });
    assert_eq!(count, 10_000.0);

    // The sum, added in the same order as the example did: the same float.
    let sum: f64 = values().iter().sum();
    let scraped = prometheus
        .value_of(&format!("histogram_sum(latency_seconds{{{job}}})"))
        .unwrap();
    assert_eq!(scraped, sum);

    // Prometheus estimates a quantile inside the bucket holding its rank: within the
    // bucket's width, a factor of 2^(1/8) at schema 3, of the true value.
    let width = 2f64.powf(1.0 / 8.0) - 1.0;
    let mut sorted = values();
    sorted.sort_by(f64::total_cmp);
    for q in [0.1, 0.5, 0.9, 0.99, 0.999] {
        let exact = sorted[((q * 10_000.0_f64).ceil() as usize).max(1) - 1];
        let estimate = prometheus
            .value_of(&format!(
                "histogram_quantile({q}, latency_seconds{{{job}}})"
            ))
            .unwrap();
        let error = (estimate - exact).abs() / exact;
        assert!(error <= width, "p{q}: {estimate} vs {exact} ({error})");
        eprintln!("p{q}: {estimate} vs {exact}: relative error {error:.4}");
    }

    // `#[timed(native)]`: a native sample (a `histogram`, not a `value`).
    let timed = format!("function_calls_duration_seconds{{{job},function=\"handle\"}}");
    let result = prometheus.query(&timed).unwrap();
    assert_eq!(result.len(), 1, "{result:?}");
    assert!(
        result[0].get("histogram").is_some(),
        "not native: {result:?}"
    );
    let calls = prometheus
        .value_of(&format!("histogram_count({timed})"))
        .unwrap();
    assert_eq!(calls, 50.0);

    // The shipped dashboard's latency panels read native histograms: every one of
    // their expressions returns the function's series.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("dashboards/expvar.json")).unwrap(),
    )
    .unwrap();
    let latency: Vec<String> = dashboard_expressions(&dashboard)
        .into_iter()
        .filter(|expr| expr.contains("function_calls_duration_seconds"))
        .collect();
    assert!(latency.len() >= 4, "{latency:?}");
    for template in &latency {
        let expr = template
            .replace("$__rate_interval", "1m")
            .replace("$job", "native")
            .replace("$instance", ".+")
            .replace("$function", "handle");
        wait_for(&format!("data for {expr}"), || {
            match prometheus.query(&expr)? {
                result if result.is_empty() => Err("no series".into()),
                _ => Ok(()),
            }
        });
    }

    // Exemplars: the latest of the histogram's, and the counter's.
    for (series, trace_id) in [
        ("latency_seconds", format!("{:032x}", 9_999)),
        ("jobs_total", "00000000000000000000000000c0ffee".to_owned()),
    ] {
        let ids = wait_for(&format!("exemplars of {series}"), || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let data = prometheus.api(&format!(
                "/api/v1/query_exemplars?query={}&start={}&end={}",
                url_encode(series),
                now - 3_600,
                now + 3_600
            ))?;
            let ids: Vec<String> = data
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
                .filter_map(|exemplar| exemplar["labels"]["trace_id"].as_str().map(str::to_owned))
                .collect();
            if ids.is_empty() {
                Err(format!("none yet: {data}"))
            } else {
                Ok(ids)
            }
        });
        assert!(ids.contains(&trace_id), "{series}: {ids:?}");
    }
    drop(example);
}
