//! The live dashboard's server side, without a browser: the page, its event stream,
//! credentials, the client cap, and slow clients.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::io::Read;
use std::time::{Duration, Instant};

use expvar::{Counter, Gauge, Map, ServerBuilder};
use support::sse::open;
use support::{get, request};

/// The value of the leaf at `path` in `sample`, located through `schema`.
fn value_at(schema: &serde_json::Value, sample: &serde_json::Value, path: &[&str]) -> f64 {
    assert_eq!(sample["s"], schema["id"]);
    let index = schema["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .position(|leaf| leaf[1] == serde_json::json!(path))
        .unwrap_or_else(|| panic!("{path:?} is not in the schema"));
    sample["v"][index].as_f64().unwrap()
}

fn kind_of(schema: &serde_json::Value, path: &[&str]) -> String {
    let leaf = schema["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|leaf| leaf[1] == serde_json::json!(path))
        .unwrap();
    leaf[0].as_str().unwrap().to_owned()
}

#[test]
fn page_is_served_self_contained() {
    let server = ServerBuilder::new().addr("127.0.0.1:0").start().unwrap();
    for path in ["/debug/dashboard", "/debug/dashboard/"] {
        let page = get(server.local_addr(), path);
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(page.body.starts_with("<!doctype html>"));
        assert!(page.body.contains("<script>") && page.body.contains("<style>"));
        // Nothing is fetched from elsewhere: no script, style or image from another host.
        assert!(!page.body.contains("src=\"http") && !page.body.contains("href=\"http"));
        assert!(page.body.len() < 100 * 1024, "{} bytes", page.body.len());
    }
    let post = request(server.local_addr(), "POST", "/debug/dashboard", &[]);
    assert_eq!(post.status, 405);
    assert_eq!(get(server.local_addr(), "/debug/dashboard/x").status, 404);
}

#[test]
fn page_and_stream_are_behind_the_credentials() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .prefix("/admin")
        .basic_auth("ops", "pw")
        .start()
        .unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/admin/debug/dashboard").status, 401);
    assert_eq!(get(addr, "/admin/debug/dashboard/events").status, 401);
    // base64("ops:pw")
    let credentials = "Authorization: Basic b3BzOnB3";
    let page = request(addr, "GET", "/admin/debug/dashboard", &[credentials]);
    assert_eq!(page.status, 200);
    let (head, mut events) = open(addr, "/admin/debug/dashboard/events", &[credentials]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    let mut schema = None;
    events.next_sample(&mut schema);
    assert!(schema.is_some());
}

#[test]
fn stream_delivers_samples_every_second_with_kinds() {
    static HITS: Counter = Counter::new();
    static LEVEL: Gauge = Gauge::new();
    static BY_CODE: Map<Counter> = Map::new();
    expvar::publish("test_dashboard_hits", &HITS).unwrap();
    expvar::publish("test_dashboard_level", &LEVEL).unwrap();
    expvar::publish("test_dashboard_by_code", &BY_CODE).unwrap();
    HITS.add(5);
    LEVEL.set(-3);
    BY_CODE.add("200", 7);
    let server = ServerBuilder::new().addr("127.0.0.1:0").start().unwrap();
    let (head, mut events) = open(server.local_addr(), "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        events.next(),
        ("message".to_owned(), String::new()),
        "retry hint first"
    );

    let mut schema = None;
    let first = events.next_sample(&mut schema);
    let started = Instant::now();
    let schema_value = schema.clone().unwrap();
    assert_eq!(schema_value["interval_ms"], 1000);
    assert_eq!(kind_of(&schema_value, &["test_dashboard_hits"]), "c");
    assert_eq!(kind_of(&schema_value, &["test_dashboard_level"]), "g");
    let by_code = schema_value["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|leaf| leaf[1] == serde_json::json!(["test_dashboard_by_code", "200"]))
        .unwrap();
    assert_eq!(by_code[2], 2, "the map key is marked as a key");
    assert_eq!(
        value_at(&schema_value, &first, &["test_dashboard_hits"]),
        5.0
    );
    assert_eq!(
        value_at(&schema_value, &first, &["test_dashboard_level"]),
        -3.0
    );

    HITS.add(2);
    let second = events.next_sample(&mut schema);
    let schema_value = schema.unwrap();
    let apart = second["t"].as_f64().unwrap() - first["t"].as_f64().unwrap();
    assert!((500.0..=2500.0).contains(&apart), "{apart} ms apart");
    assert!(started.elapsed() <= Duration::from_secs(3));
    assert_eq!(
        value_at(&schema_value, &second, &["test_dashboard_hits"]),
        7.0
    );
    assert_eq!(
        value_at(&schema_value, &second, &["test_dashboard_by_code", "200"]),
        7.0
    );
}

#[test]
fn clients_over_the_cap_get_503() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_dashboard_clients(2)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let (first, first_events) = open(addr, "/debug/dashboard/events", &[]);
    let (second, _second_events) = open(addr, "/debug/dashboard/events", &[]);
    assert_eq!((first.status, second.status), (200, 200));
    let refused = get(addr, "/debug/dashboard/events");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("5"));
    // The page itself is not a stream and is always served.
    assert_eq!(get(addr, "/debug/dashboard").status, 200);

    // A closed tab gives its place back once the server notices the connection is gone.
    drop(first_events);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (head, _events) = open(addr, "/debug/dashboard/events", &[]);
        if head.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed client's place was never freed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_client_that_stops_reading_does_not_hold_up_others() {
    // Big enough that a stalled client's buffers fill within a few samples.
    static WIDE: Map<Gauge> = Map::new();
    for key in 0..2000 {
        WIDE.add(&format!("key_{key:04}"), 1_000_000 + key);
    }
    expvar::publish("test_dashboard_wide", &WIDE).unwrap();
    let server = ServerBuilder::new().addr("127.0.0.1:0").start().unwrap();
    let addr = server.local_addr();
    let (stalled, _never_read) = open(addr, "/debug/dashboard/events", &[]);
    assert_eq!(stalled.status, 200);
    std::thread::sleep(Duration::from_secs(3));

    let (head, mut events) = open(addr, "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    let mut schema = None;
    let started = Instant::now();
    let mut times = Vec::new();
    for _ in 0..4 {
        times.push(events.next_sample(&mut schema)["t"].as_f64().unwrap());
    }
    // Four samples, the first at once: about three seconds, not held up by the stalled one.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(times.windows(2).all(|pair| pair[1] > pair[0]));
}

#[test]
fn head_opens_no_stream() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_dashboard_clients(1)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let head = request(addr, "HEAD", "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.body, "");
    // HEAD took no place under the cap of one.
    let (stream, _events) = open(addr, "/debug/dashboard/events", &[]);
    assert_eq!(stream.status, 200);
}

#[tokio::test(flavor = "current_thread")]
async fn the_mounted_service_streams_samples_too() {
    use http_body_util::BodyExt as _;
    use hyper::service::Service as _;

    let service = expvar::service();
    let request = hyper::Request::get("/debug/dashboard/events")
        .body(())
        .unwrap();
    let response = service.call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut text = String::new();
    while text.matches("event: sample\n").count() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a sample within 5 s")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(std::str::from_utf8(frame.data_ref().unwrap()).unwrap());
    }
    // The stream's id for its acknowledgements first, then the schema and samples.
    assert!(
        text.starts_with("retry: 1000\n\nid: 0\nevent: stream\ndata: {\"stream\":\""),
        "{text:.80}"
    );
    assert!(text.contains("\nevent: schema\n"), "{text:.200}");
}

#[test]
fn shutdown_ends_open_streams_at_once() {
    let server = ServerBuilder::new().addr("127.0.0.1:0").start().unwrap();
    let (head, mut events) = open(server.local_addr(), "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    let mut schema = None;
    events.next_sample(&mut schema);
    let started = Instant::now();
    server.shutdown();
    // Not the 5-second grace period that an endless response would otherwise take.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let _ = events.reader.read_to_end(&mut rest);
    assert!(
        String::from_utf8_lossy(&rest).ends_with("0\r\n\r\n"),
        "the chunked stream ends properly"
    );
}

/// A variable type of a user's own: a pool that writes an object with a map, a string,
/// a distribution and metadata. Nothing in any encoder knows it.
struct Pool;

impl expvar::Var for Pool {
    fn write(&self, out: expvar::Writer<'_>) {
        out.object(|fields| {
            fields.field("idle").help("Idle connections.").gauge(3);
            fields.field("by_host").map("host", |hosts| {
                hosts.entry("db-1").counter(5);
                hosts.entry("db-2").counter(8);
            });
            fields.field("driver").str("pg 1.2");
            fields
                .field("wait")
                .unit(expvar::vars::Unit::Seconds)
                .distribution(&expvar::vars::Distribution {
                    count: 2,
                    sum: 0.75,
                    min: 0.25,
                    max: 0.5,
                    buckets: &[(0.25, 1), (1.0, 2)],
                    quantiles: &[(0.5, 0.25)],
                });
        });
    }
}

#[test]
fn a_users_own_type_reaches_every_view_of_a_local_registry() {
    let registry = std::sync::Arc::new(expvar::Registry::new());
    registry.publish("pool", std::sync::Arc::new(Pool)).unwrap();
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(std::sync::Arc::clone(&registry))
        .start()
        .unwrap();
    let addr = server.local_addr();

    // JSON: only what this registry holds.
    let vars: serde_json::Value = serde_json::from_str(&get(addr, "/debug/vars").body).unwrap();
    assert_eq!(
        vars,
        serde_json::json!({"pool": {
            "idle": 3,
            "by_host": {"db-1": 5, "db-2": 8},
            "driver": "pg 1.2",
            "wait": {"count": 2, "sum": 0.75, "min": 0.25, "max": 0.5, "mean": 0.375, "p50": 0.25},
        }})
    );

    // Prometheus: kinds, labels, units and help from what the type said.
    let metrics = get(addr, "/metrics").body;
    for line in [
        "# HELP pool_idle Idle connections.\n# TYPE pool_idle gauge\npool_idle 3\n",
        "pool_by_host_total{host=\"db-1\"} 5\npool_by_host_total{host=\"db-2\"} 8\n",
        "pool_driver_info{value=\"pg 1.2\"} 1\n",
        "pool_wait_seconds_bucket{le=\"0.25\"} 1\n",
        "pool_wait_seconds_count 2\n",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    assert!(!metrics.contains("memstats"), "{metrics}");
    let openmetrics = request(
        addr,
        "GET",
        "/metrics",
        &["Accept: application/openmetrics-text; version=1.0.0"],
    )
    .body;
    assert!(
        openmetrics.contains("# UNIT pool_wait_seconds seconds\n"),
        "{openmetrics}"
    );

    // The dashboard: its numbers, with their kinds.
    let (head, mut events) = open(addr, "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    let mut schema = None;
    let sample = events.next_sample(&mut schema);
    let schema = schema.unwrap();
    assert_eq!(value_at(&schema, &sample, &["pool", "idle"]), 3.0);
    assert_eq!(kind_of(&schema, &["pool", "by_host", "db-2"]), "c");
    assert_eq!(
        value_at(&schema, &sample, &["pool", "by_host", "db-2"]),
        8.0
    );
    assert_eq!(value_at(&schema, &sample, &["pool", "wait", "p50"]), 0.25);
    assert_eq!(kind_of(&schema, &["pool", "wait", "count"]), "c");
    server.shutdown();
}
