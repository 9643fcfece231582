//! A dashboard client that stops reading loses its place under the client cap within
//! the write timeout: its stream ends once an event has gone unacknowledged that long,
//! whether or not the socket buffers have filled; a client that acknowledges keeps its
//! stream.
//!
//! A file of its own: the variable of the first test changes its shape every second, so
//! each sample carries a large schema (fills a stalled client's buffers in seconds),
//! which would slow the other dashboard tests down. The other tests serve a registry of
//! their own, so their samples stay small.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use expvar::{Counter, Registry, ServerBuilder};
use support::sse::open;
use support::{get, request};

/// The write timeout of the tests with small samples; also the shortest that dashboard
/// streams use.
const TIMEOUT: Duration = Duration::from_secs(2);
const EVENTS: &str = "/debug/dashboard/events";

#[test]
fn a_stalled_client_is_disconnected_and_frees_its_place() {
    // 4000 numbers whose long names change every read: ~1 MB of schema per sample.
    let reads = AtomicU64::new(0);
    expvar::publish_func("test_stalled_churn", move || {
        let read = reads.fetch_add(1, Ordering::Relaxed);
        let padding = "x".repeat(200);
        (0..4000)
            .map(|key| (format!("{read}-{key}-{padding}"), serde_json::json!(key)))
            .collect::<serde_json::Map<_, _>>()
    })
    .unwrap();
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_dashboard_clients(1)
        .write_timeout(Duration::from_secs(1))
        .start()
        .unwrap();
    let addr = server.local_addr();

    // A client with a small receive window that never reads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stalled = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(addr).await.unwrap().into_std().unwrap()
    });
    stalled.set_nonblocking(false).unwrap();
    let request = format!("GET /debug/dashboard/events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    (&stalled).write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        get(addr, "/debug/dashboard/events").status,
        503,
        "the stalled client holds the only place"
    );

    let started = Instant::now();
    loop {
        let response = get_head(addr);
        if response == 200 {
            break;
        }
        assert_eq!(response, 503);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stalled client was never disconnected"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("place freed after {:?}", started.elapsed());
}

/// A server with one dashboard place, [`TIMEOUT`], and a registry of one counter.
fn small_server() -> expvar::server::ServerHandle {
    let registry = Arc::new(Registry::new());
    registry.publish("jobs", Arc::new(Counter::new())).unwrap();
    ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(registry)
        .max_dashboard_clients(1)
        .write_timeout(TIMEOUT)
        .start()
        .unwrap()
}

/// Polls for a dashboard place until one is free; how long that took.
fn wait_for_a_place(addr: SocketAddr, started: Instant) -> Duration {
    loop {
        match get_head(addr) {
            200 => return started.elapsed(),
            status => assert_eq!(status, 503),
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the place was never freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_client_that_reads_nothing_loses_its_place_within_the_timeout() {
    let server = small_server();
    let addr = server.local_addr();
    // Opens the stream and reads nothing: its samples (tens of bytes a second) would
    // take many minutes to fill the socket buffers, so only the acknowledgements can
    // tell it from a client that reads.
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    write!(stalled, "GET {EVENTS} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get_head(addr),
        503,
        "the stalled client holds the only place"
    );

    let freed = wait_for_a_place(addr, started);
    eprintln!("a client that reads nothing held its place for {freed:?}");
    // Dropped within the timeout (plus scheduling and the 100 ms polling), and not
    // much before it.
    assert!(
        freed < TIMEOUT + Duration::from_secs(3),
        "held its place for {freed:?}"
    );
    assert!(
        freed > TIMEOUT - Duration::from_millis(500),
        "dropped after {freed:?}"
    );

    // Its stream ended (the body is finished, not just left behind): reading it now
    // finds the stream's id, maybe a sample or two, and the end.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut events = support::sse::Events::after_head(stalled);
    let id = stream_event(&mut events)["stream"]
        .as_str()
        .unwrap()
        .to_owned();
    while events.try_next().is_some() {}
    // Acknowledging a dropped stream is refused, and says why.
    let late = request(
        addr,
        "POST",
        &format!("{EVENTS}/ack?stream={id}&seen=0"),
        &[],
    );
    assert_eq!(late.status, 404, "{}", late.body);
    assert!(
        late.body.contains("no such dashboard stream"),
        "{}",
        late.body
    );
}

#[test]
fn a_client_that_acknowledges_keeps_its_stream() {
    let server = small_server();
    let addr = server.local_addr();
    let (head, mut events) = open(addr, EVENTS, &[]);
    assert_eq!(head.status, 200);
    let stream = stream_event(&mut events);
    assert_eq!(stream["ack_ms"], TIMEOUT.as_millis() as u64);
    let id = stream["stream"].as_str().unwrap().to_owned();

    // Four timeouts of samples, acknowledging each as the page does.
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < 4 * TIMEOUT {
        let (name, _) = events.next();
        if name != "sample" {
            continue;
        }
        samples += 1;
        let seen = events.last_id.clone().expect("samples carry an id");
        let ack = request(
            addr,
            "POST",
            &format!("{EVENTS}/ack?stream={id}&seen={seen}"),
            &[],
        );
        assert_eq!(ack.status, 204, "{}", ack.body);
    }
    assert!(samples >= 5, "{samples} samples in {:?}", 4 * TIMEOUT);
    assert_eq!(
        get_head(addr),
        503,
        "the acknowledging client keeps its place"
    );
    let (name, _) = events.next();
    assert!(name == "sample" || name == "schema", "{name}");
}

#[test]
fn acknowledgements_are_checked() {
    let server = small_server();
    let addr = server.local_addr();
    let (_, mut events) = open(addr, EVENTS, &[]);
    let id = stream_event(&mut events)["stream"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |query: &str| request(addr, "POST", &format!("{EVENTS}/ack{query}"), &[]);
    assert_eq!(post(&format!("?stream={id}&seen=0")).status, 204);
    // Other parameters (a proxy's, the page's own query) are ignored.
    assert_eq!(post(&format!("?token=x&seen=0&stream={id}")).status, 204);
    let ahead = post(&format!("?stream={id}&seen=999999"));
    assert_eq!(ahead.status, 400, "an event not sent yet: {}", ahead.body);
    let unknown = post("?stream=0123456789abcdef&seen=0");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    for malformed in ["", "?stream=zz&seen=0", &format!("?stream={id}"), "?seen=1"] {
        let response = post(malformed);
        assert_eq!(response.status, 400, "{malformed}: {}", response.body);
        assert!(response.body.contains("?stream=<hex id>&seen=<event id>"));
    }
    let get = request(
        addr,
        "GET",
        &format!("{EVENTS}/ack?stream={id}&seen=0"),
        &[],
    );
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));

    // Behind credentials, as the stream is.
    let guarded = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .basic_auth("ops", "secret")
        .start()
        .unwrap();
    let path = format!("{EVENTS}/ack?stream={id}&seen=0");
    let refused = request(guarded.local_addr(), "POST", &path, &[]);
    assert_eq!(refused.status, 401);
    // "ops:secret"
    let auth = "Authorization: Basic b3BzOnNlY3JldA==";
    let allowed = request(guarded.local_addr(), "POST", &path, &[auth]);
    assert_eq!(allowed.status, 404, "checked, and no such stream there");
}

/// The stream's first event, after the `retry:` preamble: its id and acknowledgement
/// timeout.
fn stream_event(events: &mut support::sse::Events) -> serde_json::Value {
    assert_eq!(
        events.next(),
        ("message".to_owned(), String::new()),
        "retry: 1000"
    );
    let (name, data) = events.next();
    assert_eq!(name, "stream", "{data}");
    assert_eq!(events.last_id.as_deref(), Some("0"));
    serde_json::from_str(&data).unwrap()
}

/// The status of a new event stream request, without reading its endless body.
fn get_head(addr: std::net::SocketAddr) -> u16 {
    use std::io::{BufRead, BufReader};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("GET /debug/dashboard/events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}
