//! A dashboard client that stops reading is disconnected once the server's writes to it
//! have waited for the write timeout, and its place under the client cap is freed.
//!
//! A file of its own: the variable here changes its shape every second, so each sample
//! carries a large schema (fills a stalled client's buffers in seconds), which would
//! slow the other dashboard tests down.
#![cfg(feature = "server")]

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use expvar::ServerBuilder;
use support::get;

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
