//! End to end with a real Prometheus: the web example's `/metrics` passes
//! `promtool check metrics`, a Prometheus on loopback scrapes it every second, and its
//! HTTP API shows the target up, exact counter values, and data for every expression
//! of the shipped Grafana dashboard.
//!
//! Needs `prometheus` and `promtool` on `PATH` (Debian package `prometheus`). Without
//! them the test says why and passes, unless `EXPVAR_REQUIRE_E2E=1`, when it fails.
#![cfg(feature = "server")]

use std::fs;
use std::path::Path;

use expvar_test_support as support;
use serde_json::Value;
use support::prometheus::{dashboard_expressions, promtool, Prometheus};
use support::{try_get, wait_for};

/// The job name Prometheus gives the web example.
const JOB: &str = "expvar-e2e";
/// What the dashboard's variables stand for in this test.
const VARIABLES: &[(&str, &str)] = &[
    ("$__rate_interval", "1m"),
    ("$job", JOB),
    ("$instance", ".+"),
    ("$function", ".+"),
    ("$gauge", "web_in_flight"),
    // The variables panels repeat once per chosen metric: one metric per query.
    ("$counter", "web_requests_total"),
];

#[test]
fn real_prometheus_scrapes_the_web_example() {
    if !Prometheus::available() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // The shipped configuration is valid.
    promtool(
        &[
            "check",
            "config",
            "--syntax-only",
            root.join("deploy/prometheus.yml").to_str().unwrap(),
        ],
        None,
    );

    let (web, app, debug) = support::start_web_example("127.0.0.1:0");
    // Known traffic: 5 x `index`, 3 good and 2 failing `get_user`.
    let mut requests = vec!["/"; 5];
    requests.extend(["/users/2", "/users/4", "/users/6", "/users/1", "/users/3"]);
    for path in &requests {
        let status = try_get(app, path, &[])
            .expect("a request to the web example")
            .status;
        let expected = if path.starts_with("/users/") && path.ends_with(['1', '3']) {
            404
        } else {
            200
        };
        assert_eq!(status, expected, "GET {path}");
    }

    let metrics = try_get(debug, "/metrics", &[]).unwrap();
    assert_eq!(metrics.status, 200);
    promtool(&["check", "metrics"], Some(&metrics.body));

    let prometheus = Prometheus::start(
        &format!(
            "scrape_configs:\n  - job_name: {JOB}\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [\"{debug}\"]\n"
        ),
        &[],
    );
    wait_for("the target to be up", || {
        let targets = prometheus.api("/api/v1/targets")?["activeTargets"].clone();
        match targets.as_array().map(Vec::as_slice) {
            Some([target]) if target["health"] == "up" && target["labels"]["job"] == JOB => Ok(()),
            _ => Err(format!("{targets}\n{}", prometheus.log())),
        }
    });
    let up = wait_for("up == 1", || {
        prometheus.value_of(&format!("up{{job=\"{JOB}\"}}"))
    });
    assert_eq!(up, 1.0);

    // Counters bumped by the known requests read exactly.
    for (expr, expected) in [
        (format!("requests_total{{job=\"{JOB}\"}}"), 5.0),
        (format!("web_requests_total{{job=\"{JOB}\"}}"), 10.0),
        (
            format!("web_responses_by_status_total{{job=\"{JOB}\",status=\"404\"}}"),
            2.0,
        ),
        (
            format!("function_calls_total{{job=\"{JOB}\",function=\"get_user\",result=\"error\"}}"),
            2.0,
        ),
        (
            format!("function_calls_total{{job=\"{JOB}\",function=\"get_user\",result=\"ok\"}}"),
            3.0,
        ),
        (
            format!("function_calls_duration_seconds_count{{job=\"{JOB}\",function=\"get_user\"}}"),
            5.0,
        ),
    ] {
        let value = wait_for(&expr, || prometheus.value_of(&expr));
        assert_eq!(value, expected, "{expr}");
    }

    // Every dashboard expression returns data (rates need two scrapes: wait for them).
    let dashboard: Value =
        serde_json::from_str(&fs::read_to_string(root.join("dashboards/expvar.json")).unwrap())
            .unwrap();
    let expressions = dashboard_expressions(&dashboard);
    assert!(expressions.len() >= 10, "{expressions:?}");
    for template in &expressions {
        let mut expr = template.clone();
        for (variable, value) in VARIABLES {
            expr = expr.replace(variable, value);
        }
        assert!(!expr.contains('$'), "unknown variable in {template}");
        wait_for(&format!("data for {expr}"), || {
            let result = prometheus.query(&expr)?;
            if result.is_empty() {
                Err("no series".into())
            } else {
                Ok(())
            }
        });
    }
    eprintln!(
        "all {} dashboard expressions returned data",
        expressions.len()
    );
    drop(web);
}
