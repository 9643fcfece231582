//! An open dashboard does not move the heap figures it charts: after the first ticks,
//! neither its sampler nor the streams of its clients allocate, so `memstats.Mallocs`
//! and `memstats.HeapObjects` stay put while clients watch. Without the test harness,
//! so no other test allocates meanwhile.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use expvar::{stats::AllocStats, Counter, CountingAlloc, Map};

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

/// A labelled counter, as services publish them: its sample reads the map's counters
/// together, into a buffer kept between ticks.
static RESPONSES: Map<Counter> = Map::with_label("status");

fn main() {
    RESPONSES.add("200", 3);
    RESPONSES.add("404", 1);
    expvar::publish("responses", &RESPONSES).expect("publish");
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    // Several clients, so the tick each of them is sent is shared and recycled.
    const CLIENTS: usize = 3;
    let mut streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
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
            stream
        })
        .collect();
    // Warm-up: the connections' buffers, the schema, the sampler's buffers and spare ticks.
    for stream in &mut streams {
        wait_for_samples(stream, 3);
    }
    const TICKS: usize = 8;
    let before = AllocStats::read().unwrap();
    for _ in 0..TICKS {
        for stream in &mut streams {
            wait_for_samples(stream, 1);
        }
    }
    let after = AllocStats::read().unwrap();
    let mallocs = after.mallocs - before.mallocs;
    let live = after.live_objects as i64 - before.live_objects as i64;
    println!(
        "{TICKS} ticks with {CLIENTS} dashboard clients: {mallocs} allocations, live objects {live:+}"
    );
    // Nothing in the process allocates per tick: the sampler's thread writes each tick
    // over one no client holds any more, the streams wait for the next one in place,
    // and the CPU-use thread reads /proc/stat into a fixed buffer (elsewhere it reads
    // through `sysinfo`, which allocates a few blocks a second and frees them).
    if cfg!(target_os = "linux") {
        assert_eq!(mallocs, 0, "allocations in {TICKS} ticks");
    }
    assert_eq!(live, 0, "live objects moved");
    drop(streams);
    server.shutdown();
    println!("test dashboard_sampling_allocates_nothing ... ok");
}
