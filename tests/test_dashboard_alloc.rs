//! An open dashboard does not move the heap figures it charts: after the first ticks,
//! its sampler allocates next to nothing (one 24-byte header per tick) and keeps nothing, so `memstats.HeapObjects` stays put while a client
//! watches. Without the test harness, so no other test allocates meanwhile.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use expvar::{AllocStats, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Reads the stream until `count` more sample events have arrived, into a fixed buffer
/// (the reading itself allocates nothing).
fn wait_for_samples(stream: &mut TcpStream, count: usize) {
    const MARK: &[u8] = b"event: sample";
    let mut buffer = [0u8; 16 << 10];
    let mut seen = 0;
    let mut carried = 0;
    while seen < count {
        let read = stream.read(&mut buffer[carried..]).expect("read events");
        assert!(read > 0, "the event stream ended");
        let filled = carried + read;
        seen += buffer[..filled]
            .windows(MARK.len())
            .filter(|window| *window == MARK)
            .count();
        // Keep the tail, in case a mark is split across reads; it cannot hold a whole one.
        let keep = (MARK.len() - 1).min(filled);
        buffer.copy_within(filled - keep..filled, 0);
        carried = keep;
    }
}

fn main() {
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /debug/dashboard/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.local_addr()
    )
    .unwrap();
    // Warm-up: the connection's buffers, the schema, the sampler's own buffers.
    wait_for_samples(&mut stream, 4);
    const TICKS: usize = 6;
    let before = AllocStats::read().unwrap();
    wait_for_samples(&mut stream, TICKS);
    let after = AllocStats::read().unwrap();
    let mallocs = after.mallocs - before.mallocs;
    let live = after.live_objects as i64 - before.live_objects as i64;
    println!(
        "{TICKS} ticks with a dashboard client: {mallocs} allocations ({} per tick), live objects {live:+}",
        mallocs / TICKS as u64
    );
    // Per tick, all freed by the next one: the event's `Bytes` header (sampling), the
    // client stream's boxed wait for the next tick (serving), and handing the sample to
    // a worker thread and back (the job and its reply channel: sampling runs variables'
    // code, so never on the async thread). Nothing stays live.
    assert!(
        mallocs <= 12 * TICKS as u64,
        "{mallocs} allocations in {TICKS} ticks"
    );
    assert!(live.abs() <= 2, "live objects moved by {live}");
    drop(stream);
    server.shutdown();
    println!("test dashboard_sampling_keeps_live_objects ... ok");
}
