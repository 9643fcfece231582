//! OTLP for real: a receiver decoding with Python's `opentelemetry-proto` (not our
//! decoder) checks names, values, temporality, bounds, the resource from
//! `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES`, gzip, a partial success, and a
//! 503 then 200 retried.

use std::sync::Arc;
use std::time::Duration;

use expvar::{Otlp, Registry, Str};
use expvar_test_support::otlp::OtlpReceiver;
use expvar_test_support::push::{known_values, own_figure};
use expvar_test_support::wait_for;
use serde_json::Value;

/// The known values, and a string `version` (1.2.3).
fn registry() -> Arc<Registry> {
    let registry = known_values();
    let version = Arc::new(Str::new());
    version.set("1.2.3");
    registry.publish("version", version).unwrap();
    registry
}

/// The pusher's own figure `field` for OTLP.
fn own(registry: &Registry, field: &str) -> f64 {
    own_figure(registry, "otlp", field)
}

/// The metrics of a decoded request, by name.
fn metrics(request: &Value) -> Vec<Value> {
    let scope = &request["resourceMetrics"][0]["scopeMetrics"][0];
    assert_eq!(scope["scope"]["name"], "expvar");
    scope["metrics"].as_array().unwrap().clone()
}

fn metric<'a>(metrics: &'a [Value], name: &str) -> &'a Value {
    metrics
        .iter()
        .find(|metric| metric["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {metrics:#?}"))
}

/// Attributes as `key=value` (string and integer values).
fn attributes(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let value = &pair["value"];
            let value = value["stringValue"]
                .as_str()
                .or(value["intValue"].as_str())
                .unwrap_or_default();
            format!("{}={value}", pair["key"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn a_receiver_not_ours_reads_names_values_temporality_bounds_and_resource() {
    let Some(receiver) = OtlpReceiver::start(&[]) else {
        return;
    };
    // The only test here that sets the environment.
    std::env::set_var("OTEL_SERVICE_NAME", "otlp-test");
    std::env::set_var(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment=ci,team=obs%20team,service.name=overridden",
    );
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://{}", receiver.addr),
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "3600000");
    let registry = registry();
    let pusher = Otlp::from_env()
        .unwrap()
        .registry(Arc::clone(&registry))
        .label("job", "import")
        .start()
        .unwrap();
    pusher.flush().unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one push at start, one flushed");
    let first = &requests[0];
    assert_eq!(first["path"], "/v1/metrics");
    assert_eq!(first["content_type"], "application/x-protobuf");
    assert_eq!(first["content_encoding"], "gzip");
    let request = &first["request"];
    let resource = attributes(&request["resourceMetrics"][0]["resource"]["attributes"]);
    for expected in [
        "service.name=otlp-test".to_owned(),
        "deployment.environment=ci".to_owned(),
        "team=obs team".to_owned(),
        format!("process.pid={}", std::process::id()),
        "telemetry.sdk.name=expvar".to_owned(),
        "telemetry.sdk.language=rust".to_owned(),
    ] {
        assert!(
            resource.contains(&expected),
            "{expected} not in {resource:?}"
        );
    }
    assert!(resource
        .iter()
        .any(|attribute| attribute.starts_with("service.instance.id=")));

    let metrics = metrics(request);
    let jobs = &metric(&metrics, "jobs")["sum"];
    assert_eq!(jobs["isMonotonic"], true);
    assert_eq!(
        jobs["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let point = &jobs["dataPoints"][0];
    assert_eq!(point["asInt"], "7");
    assert_eq!(attributes(&point["attributes"]), ["job=import"]);
    let start = point["startTimeUnixNano"].as_str().unwrap().to_owned();
    let nanos = |text: &str| text.parse::<u64>().unwrap();
    assert!(nanos(&start) < nanos(point["timeUnixNano"].as_str().unwrap()));

    let depth = &metric(&metrics, "depth")["gauge"]["dataPoints"][0];
    assert_eq!(depth["asInt"], "-3");
    let results = metric(&metrics, "results")["sum"]["dataPoints"]
        .as_array()
        .unwrap()
        .clone();
    let mut points: Vec<(Vec<String>, &str)> = results
        .iter()
        .map(|point| {
            (
                attributes(&point["attributes"]),
                point["asInt"].as_str().unwrap(),
            )
        })
        .collect();
    points.sort();
    assert_eq!(
        points,
        [
            (
                vec!["job=import".to_owned(), "result=failed".to_owned()],
                "2"
            ),
            (vec!["job=import".to_owned(), "result=ok".to_owned()], "5"),
        ]
    );
    let version = &metric(&metrics, "version_info")["gauge"]["dataPoints"][0];
    assert_eq!(
        attributes(&version["attributes"]),
        ["job=import", "value=1.2.3"]
    );
    let latency = &metric(&metrics, "latency_seconds")["histogram"];
    assert_eq!(
        latency["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let point = &latency["dataPoints"][0];
    assert_eq!(point["count"], "4");
    assert_eq!(point["sum"], 4.25);
    assert_eq!(point["explicitBounds"], serde_json::json!([0.1, 1.0]));
    assert_eq!(point["bucketCounts"], serde_json::json!(["1", "2", "1"]));
    assert_eq!(point["min"], 0.05);
    assert_eq!(point["max"], 3.0);

    // The start time is fixed; the time of the reading moves on.
    let second = metrics_of(&requests[1]);
    let later = &metric(&second, "jobs")["sum"]["dataPoints"][0];
    assert_eq!(later["startTimeUnixNano"].as_str().unwrap(), start);
    for name in [
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_METRIC_EXPORT_INTERVAL",
    ] {
        std::env::remove_var(name);
    }
}

fn metrics_of(record: &Value) -> Vec<Value> {
    metrics(&record["request"])
}

/// The data points of a request, all metrics together.
fn data_points(record: &Value) -> usize {
    metrics_of(record)
        .iter()
        .map(|metric| {
            let data = ["sum", "gauge", "histogram"]
                .iter()
                .find_map(|kind| metric.get(kind))
                .unwrap();
            data["dataPoints"].as_array().unwrap().len()
        })
        .sum()
}

#[test]
fn a_503_is_retried_and_the_200_gets_the_same_batch() {
    let Some(receiver) = OtlpReceiver::start(&["503"]) else {
        return;
    };
    let registry = registry();
    let _pusher = Otlp::new(&receiver.url())
        .registry(Arc::clone(&registry))
        .service_name("retry-test")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    let requests = wait_for("the retry", || match receiver.requests() {
        requests if requests.len() >= 2 => Ok(requests),
        requests => Err(format!("{} requests", requests.len())),
    });
    assert_eq!(requests[0]["reply"], "503");
    assert_eq!(requests[1]["reply"], "200");
    assert_eq!(
        requests[0]["request"], requests[1]["request"],
        "the same batch, resent"
    );
    wait_for("the figures", || match own(&registry, "samples") {
        0.0 => Err("nothing delivered yet".to_owned()),
        _ => Ok(()),
    });
    assert_eq!(own(&registry, "failures"), 1.0);
    assert_eq!(own(&registry, "dropped"), 0.0);
    assert_eq!(own(&registry, "queue_samples"), 0.0);
    assert!(own(&registry, "last_success_timestamp_seconds") > 1.6e9);
}

#[test]
fn a_partial_success_is_counted() {
    let Some(receiver) = OtlpReceiver::start(&["partial:2:two points refused"]) else {
        return;
    };
    let registry = registry();
    let pusher = Otlp::new(&receiver.url())
        .registry(Arc::clone(&registry))
        .service_name("partial-test")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    pusher.flush().unwrap();
    let requests = receiver.requests();
    assert_eq!(requests[0]["reply"], "partial:2:two points refused");
    let points = data_points(&requests[0]);
    assert_eq!(own(&registry, "dropped"), 2.0);
    // Both pushes are delivered; the first loses the two refused points.
    let second = data_points(&requests[1]);
    assert_eq!(own(&registry, "samples"), (points - 2 + second) as f64);
}
