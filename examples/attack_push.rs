//! The pusher `scripts/attack` points at bad receivers: a debug server with 10,000
//! series (100 maps of 100 counters) that pushes them by remote write to
//! `ATTACK_PUSH_REMOTE_WRITE` and as OTLP to `ATTACK_PUSH_OTLP` (either or both), every
//! `ATTACK_PUSH_INTERVAL_MS` (default 250), each request within 2 s, each queue capped
//! at `ATTACK_PUSH_QUEUE_BYTES` (default 1 MiB). Prints `listening on ADDR` once it
//! serves.
//!
//! `cargo run --example attack_push --features remote-write,otlp` (loopback only).

use std::sync::Arc;
use std::time::Duration;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    env_logger::init();
    for family in 0..100 {
        let map = Arc::new(expvar::Map::<expvar::Counter>::with_label("key"));
        for key in 0..100 {
            map.add(&format!("k{key:03}"), family * 100 + key);
        }
        expvar::publish(format!("attack_family_{family:03}"), map).expect("publish");
    }
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let interval = Duration::from_millis(number("ATTACK_PUSH_INTERVAL_MS", 250));
    let queue_bytes = number("ATTACK_PUSH_QUEUE_BYTES", 1 << 20) as usize;
    let timeout = Duration::from_secs(2);
    let mut pushers = Vec::new();
    if let Ok(url) = std::env::var("ATTACK_PUSH_REMOTE_WRITE") {
        let pusher = expvar::RemoteWrite::new(&url)
            .interval(interval)
            .timeout(timeout)
            .queue_bytes(queue_bytes)
            .start()
            .expect("remote write");
        pushers.push(pusher);
    }
    if let Ok(url) = std::env::var("ATTACK_PUSH_OTLP") {
        let pusher = expvar::Otlp::new(&url)
            .interval(interval)
            .timeout(timeout)
            .queue_bytes(queue_bytes)
            .start()
            .expect("otlp");
        pushers.push(pusher);
    }
    println!("listening on {}", server.local_addr());
    loop {
        std::thread::park();
    }
}
