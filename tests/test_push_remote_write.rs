//! Remote write for real: Debian's Prometheus 2.42 with its remote-write receiver and
//! VictoriaMetrics take what `RemoteWrite` pushes, and their query APIs give back the
//! exact values; a Prometheus stopped for 20 s loses no second of pushes.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use expvar::{Counter, Registry, RemoteWrite};
use expvar_test_support as support;
use support::prometheus::Prometheus;
use support::push::{known_values, own_figure};
use support::victoria::VictoriaMetrics;
use support::wait_for;

const RECEIVER: &[&str] = &["--web.enable-remote-write-receiver"];

/// The pusher's own figure `field` for remote write.
fn own(registry: &Registry, field: &str) -> f64 {
    own_figure(registry, "remote_write", field)
}

fn value(query: impl Fn(&str) -> Result<f64, String>, expr: &str, expected: f64) {
    wait_for(&format!("{expr} = {expected}"), || match query(expr) {
        Ok(value) if value == expected => Ok(()),
        Ok(value) => Err(format!("{value}")),
        Err(error) => Err(error),
    });
}

#[test]
fn prometheus_gets_the_exact_values_and_buckets() {
    if !Prometheus::available() {
        return;
    }
    let prometheus = Prometheus::start("", RECEIVER);
    let registry = known_values();
    let pusher = RemoteWrite::new(&format!("http://{}/api/v1/write", prometheus.addr))
        .registry(Arc::clone(&registry))
        .label("job", "push_test")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    pusher.flush().unwrap();
    let query = |expr: &str| prometheus.value_of(expr);
    value(query, r#"jobs_total{job="push_test"}"#, 7.0);
    value(query, r#"depth{job="push_test"}"#, -3.0);
    value(query, r#"results_total{job="push_test",result="ok"}"#, 5.0);
    value(
        query,
        r#"results_total{job="push_test",result="failed"}"#,
        2.0,
    );
    value(
        query,
        r#"latency_seconds_bucket{job="push_test",le="0.1"}"#,
        1.0,
    );
    value(
        query,
        r#"latency_seconds_bucket{job="push_test",le="1.0"}"#,
        3.0,
    );
    value(
        query,
        r#"latency_seconds_bucket{job="push_test",le="+Inf"}"#,
        4.0,
    );
    value(query, r#"latency_seconds_count{job="push_test"}"#, 4.0);
    value(query, r#"latency_seconds_sum{job="push_test"}"#, 4.25);
    value(
        query,
        r#"histogram_quantile(0.5, latency_seconds_bucket{job="push_test"})"#,
        0.55,
    );
    // The pusher's own figures arrive with the next push.
    pusher.flush().unwrap();
    assert!(own(&registry, "samples") > 0.0);
    wait_for("the pusher's own figures", || {
        match prometheus.value_of(r#"expvar_push_samples_total{protocol="remote_write"}"#) {
            Ok(value) if value > 0.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    // The series are those of /metrics, name for name.
    let mut text_names: Vec<String> = registry
        .to_prometheus()
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| line.split(['{', ' ']).next().unwrap().to_owned())
        .collect();
    text_names.sort();
    text_names.dedup();
    let result = prometheus
        .query(r#"group by (__name__) ({job="push_test"})"#)
        .unwrap();
    let mut stored: Vec<String> = result
        .iter()
        .map(|series| series["metric"]["__name__"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    assert_eq!(stored, text_names);
    assert_eq!(own(&registry, "failures"), 0.0);
}

#[test]
fn victoria_metrics_gets_the_exact_values() {
    let Some(victoria) = VictoriaMetrics::start() else {
        return;
    };
    let registry = known_values();
    let pusher = RemoteWrite::new(&victoria.write_url())
        .registry(Arc::clone(&registry))
        .label("job", "vm_test")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    pusher.flush().unwrap();
    let query = |expr: &str| victoria.value_of(expr);
    value(query, r#"jobs_total{job="vm_test"}"#, 7.0);
    value(query, r#"depth{job="vm_test"}"#, -3.0);
    value(
        query,
        r#"results_total{job="vm_test",result="failed"}"#,
        2.0,
    );
    value(
        query,
        r#"latency_seconds_bucket{job="vm_test",le="1.0"}"#,
        3.0,
    );
    value(query, r#"latency_seconds_count{job="vm_test"}"#, 4.0);
    assert_eq!(own(&registry, "failures"), 0.0);
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn an_outage_shorter_than_the_queue_loses_no_second() {
    if !Prometheus::available() {
        return;
    }
    let prometheus = Prometheus::start("", RECEIVER);
    let addr = prometheus.addr;
    let registry = Arc::new(Registry::new());
    let ticks = Arc::new(Counter::new());
    registry.publish("ticks", Arc::clone(&ticks)).unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let ticker = {
        let (ticks, running) = (Arc::clone(&ticks), Arc::clone(&running));
        std::thread::spawn(move || {
            while running.load(SeqCst) {
                ticks.inc();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let _pusher = RemoteWrite::new(&format!("http://{addr}/api/v1/write"))
        .registry(Arc::clone(&registry))
        .label("job", "outage")
        .interval(Duration::from_secs(1))
        .timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    wait_for("pushes to arrive", || {
        prometheus
            .value_of(r#"ticks_total{job="outage"}"#)
            .map(drop)
    });
    std::thread::sleep(Duration::from_secs(2));

    let dir = prometheus.stop();
    let down = unix_now();
    let mut queued = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_secs(1));
        queued.push(own(&registry, "queue_samples"));
    }
    let prometheus = Prometheus::start_at(dir, addr, "", RECEIVER);
    let up = unix_now();
    wait_for("the queue to drain", || {
        match own(&registry, "queue_samples") {
            0.0 => Ok(()),
            left => Err(format!("{left} samples queued")),
        }
    });
    // Growing by a push a second while the receiver was away.
    assert!(
        queued.windows(2).all(|pair| pair[1] >= pair[0]),
        "{queued:?}"
    );
    assert!(queued[19] >= queued[0] + 15.0, "{queued:?}");
    assert_eq!(own(&registry, "dropped"), 0.0);

    std::thread::sleep(Duration::from_secs(2));
    let span = (unix_now() - down + 10.0).ceil();
    let result = prometheus
        .query(&format!(r#"ticks_total{{job="outage"}}[{span}s]"#))
        .unwrap();
    let samples: Vec<(f64, f64)> = result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let time = pair[0].as_f64().unwrap();
            let value: f64 = pair[1].as_str().unwrap().parse().unwrap();
            (time, value)
        })
        .collect();
    assert!(
        samples.windows(2).all(|pair| pair[1].1 >= pair[0].1),
        "the counter went down: {samples:?}"
    );
    // A sample for every second of the outage: no gap of two seconds from before
    // the stop to after the restart.
    let around: Vec<f64> = samples
        .iter()
        .map(|&(time, _)| time)
        .filter(|&time| time >= down - 3.0 && time <= up + 3.0)
        .collect();
    assert!(
        around.first().is_some_and(|&first| first <= down),
        "{around:?} from {down}"
    );
    assert!(
        around.last().is_some_and(|&last| last >= up),
        "{around:?} to {up}"
    );
    for pair in around.windows(2) {
        assert!(
            pair[1] - pair[0] < 2.0,
            "a gap from {} to {}: {around:?}",
            pair[0],
            pair[1]
        );
    }
    assert!(around.len() >= 20, "{} samples: {around:?}", around.len());
    running.store(false, SeqCst);
    ticker.join().unwrap();
}
