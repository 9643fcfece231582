//! The debug endpoint never stalls and never grows without bound: slow or hung
//! variables and readiness checks, requests beyond the in-flight limit, a panicking
//! variable on the dashboard, stalled connections beyond the cap. Bounds are generous;
//! what is asserted is who waits for whom, not how fast.

use expvar_test_support as support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use expvar::ServerBuilder;
use support::get;

fn elapsed(started: Instant) -> Duration {
    started.elapsed()
}

/// One test at a time: each publishes variables that every server of this process
/// would render, and unpublishes them when done.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unpublishes the variables named when dropped, also when the test fails.
struct Published(&'static [&'static str]);

impl Drop for Published {
    fn drop(&mut self) {
        for name in self.0 {
            expvar::unpublish(name);
        }
    }
}

#[test]
fn a_slow_variable_delays_only_itself() {
    let _serial = serial();
    let _published = Published(&["safety_slow", "safety_quick"]);
    expvar::publish_func("safety_slow", || {
        std::thread::sleep(Duration::from_secs(5));
        1
    })
    .unwrap();
    expvar::publish_func("safety_quick", || 2).unwrap();
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .render_deadline(Duration::from_millis(300))
        .start()
        .unwrap();
    let addr = server.local_addr();
    let timeouts_before = expvar::server::render_timeouts();

    let scraping = std::thread::spawn(move || get(addr, "/debug/vars"));
    std::thread::sleep(Duration::from_millis(50));
    // Health is answered while the scrape waits for the slow variable.
    let started = Instant::now();
    assert_eq!(get(addr, "/status/health").status, 200);
    let health = elapsed(started);
    let vars = scraping.join().unwrap();
    assert!(health < Duration::from_secs(2), "health took {health:?}");
    assert_eq!(vars.status, 200);
    let document: serde_json::Value = serde_json::from_str(&vars.body).unwrap();
    assert_eq!(document["safety_slow"], serde_json::Value::Null);
    assert_eq!(document["safety_quick"], 2);
    assert!(document["memstats"].is_object());
    assert!(expvar::server::render_timeouts() > timeouts_before);

    let metrics = get(addr, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("\nsafety_quick 2\n"),
        "{}",
        metrics.body
    );
    assert!(!metrics.body.contains("safety_slow"));
}

#[test]
fn a_hung_variable_holds_one_thread_however_often_it_is_scraped() {
    let _serial = serial();
    let _published = Published(&["safety_hung"]);
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    static HOLD: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);
    let (release, hold) = mpsc::channel();
    *HOLD.lock().unwrap() = Some(hold);
    expvar::publish_func("safety_hung", || {
        STARTS.fetch_add(1, SeqCst);
        if let Some(hold) = HOLD.lock().unwrap().take() {
            let _ = hold.recv();
        }
    })
    .unwrap();
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .render_deadline(Duration::from_millis(200))
        .start()
        .unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/debug/vars").status, 200);
    let threads_after_first = threads();
    for _ in 0..10 {
        let vars = get(addr, "/debug/vars");
        assert!(vars.body.contains("\"safety_hung\": null"));
    }
    assert_eq!(STARTS.load(SeqCst), 1, "a second render was started");
    if let (Some(first), Some(last)) = (threads_after_first, threads()) {
        assert!(last <= first + 4, "threads grew from {first} to {last}");
    }
    release.send(()).unwrap();
}

/// The process's thread count, where `/proc` tells it.
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Threads:"))?;
    line["Threads:".len()..].trim().parse().ok()
}

#[test]
fn requests_beyond_the_in_flight_limit_get_a_fast_503_and_health_still_answers() {
    let _serial = serial();
    let _published = Published(&["safety_gate"]);
    let (release, hold) = mpsc::channel::<()>();
    let hold = Mutex::new(hold);
    let (entered, entering) = mpsc::channel::<()>();
    let entered = Mutex::new(entered);
    expvar::publish_func("safety_gate", move || {
        let _ = entered.lock().unwrap().send(());
        let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(20));
    })
    .unwrap();
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_requests_in_flight(1)
        .render_deadline(Duration::from_secs(20))
        .start()
        .unwrap();
    let addr = server.local_addr();
    let first = std::thread::spawn(move || get(addr, "/debug/vars"));
    // The first request holds the only place while it waits for the variable.
    entering.recv_timeout(Duration::from_secs(20)).unwrap();
    let refused = get(addr, "/metrics");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(get(addr, "/status/health").status, 200);
    release.send(()).unwrap();
    assert_eq!(first.join().unwrap().status, 200);
}

#[test]
fn a_hung_readiness_check_fails_by_its_deadline() {
    let _serial = serial();
    let _published = Published(&[]);
    let (release, hold) = mpsc::channel::<()>();
    let hold = Mutex::new(hold);
    expvar::server::add_readiness_check("safety_hung_check", move || {
        let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(20));
        Ok(())
    });
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .readiness_deadline(Duration::from_millis(200))
        .start()
        .unwrap();
    let addr = server.local_addr();
    for _ in 0..3 {
        let started = Instant::now();
        let health = get(addr, "/status/health");
        assert!(elapsed(started) < Duration::from_secs(10));
        assert_eq!(health.status, 503);
        assert!(health.body.contains("safety_hung_check"), "{}", health.body);
    }
    expvar::server::remove_readiness_check("safety_hung_check");
    release.send(()).unwrap();
    assert_eq!(get(addr, "/status/health").status, 200);
}

#[test]
fn a_panicking_variable_does_not_make_the_dashboard_resend_its_schema() {
    let _serial = serial();
    let _published = Published(&["safety_panics"]);
    struct HalfWritten;
    impl expvar::Var for HalfWritten {
        fn write(&self, out: expvar::Writer<'_>) {
            out.object(|fields| {
                fields.field("first").gauge(1);
                panic!("safety: broken variable");
            });
        }
    }
    expvar::publish("safety_panics", std::sync::Arc::new(HalfWritten)).unwrap();
    let server = ServerBuilder::new().addr("127.0.0.1:0").start().unwrap();
    let addr = server.local_addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let request = format!("GET /debug/dashboard/events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut lines = BufReader::new(stream).lines();
    let (mut schemas, mut samples) = (0, 0);
    while samples < 4 {
        let line = lines.next().unwrap().unwrap();
        schemas += usize::from(line == "event: schema");
        samples += usize::from(line == "event: sample");
    }
    assert_eq!(schemas, 1, "the schema was sent again");
}

/// A connection that sends part of a request's headers and stalls.
fn stalled(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /debug/vars HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .unwrap();
    stream
}

/// Whether the server closed `stream` within a moment.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    support::closed_by_peer(stream, Duration::from_millis(100))
}

#[test]
fn a_stalled_connection_gives_its_place_to_a_newcomer() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_connections(2)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let mut first = stalled(addr);
    let mut second = stalled(addr);
    std::thread::sleep(Duration::from_millis(200));
    // Full: the newcomer takes the place of the oldest connection waiting for a request.
    assert_eq!(get(addr, "/debug/vars").status, 200);
    assert!(closed_by_server(&mut first), "the oldest was kept");
    assert!(!closed_by_server(&mut second), "the newer was shed first");
}

#[test]
fn health_answers_through_many_more_stalled_connections_than_the_cap() {
    const CAP: usize = 64;
    const STALLED: usize = 400;
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_connections(CAP)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let mut connections: Vec<TcpStream> = (0..STALLED).map(|_| stalled(addr)).collect();
    let mut fast = 0;
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let started = Instant::now();
        let health = support::try_get(addr, "/status/health", &[]);
        let took = elapsed(started);
        assert_eq!(health.map(|health| health.status).ok(), Some(200));
        fast += usize::from(took < Duration::from_secs(1));
        slowest = slowest.max(took);
        // The attackers keep coming.
        connections.push(stalled(addr));
    }
    eprintln!(
        "{STALLED} stalled connections, cap {CAP}: health 200 within 1 s {fast} of 40 \
         (slowest {slowest:?})"
    );
    let shed = connections
        .iter_mut()
        .map(closed_by_server)
        .filter(|closed| *closed)
        .count();
    assert!(
        shed >= connections.len() - CAP,
        "{shed} of {} shed",
        connections.len()
    );
}
