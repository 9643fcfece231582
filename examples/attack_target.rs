//! The server `scripts/attack` attacks: the default limits and a map of 300 counters so
//! dashboard samples have a realistic size; with `ATTACK_SLOW_VARS=1` also a variable
//! that takes 5 seconds and one that never returns. Prints `listening on ADDR` once it
//! serves.
//!
//! `cargo run --example attack_target` (loopback only; `ATTACK_WRITE_TIMEOUT` in
//! seconds shortens the write timeout for the stalled-stream scenario).

use std::time::Duration;

fn main() {
    if std::env::var_os("ATTACK_SLOW_VARS").is_some() {
        publish_slow_variables();
    }
    let requests = Box::leak(Box::new(expvar::Map::<expvar::Counter>::new()));
    for key in 0..300 {
        requests.add(&format!("route_{key:03}"), key);
    }
    expvar::publish("attack_requests", &*requests).expect("publish");
    let write_timeout = std::env::var("ATTACK_WRITE_TIMEOUT")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs);
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .write_timeout(write_timeout)
        .max_dashboard_clients(1)
        .start()
        .expect("bind");
    println!("listening on {}", server.local_addr());
    // Keep the counters moving so samples change.
    loop {
        std::thread::sleep(Duration::from_millis(100));
        requests.inc("route_000");
    }
}

fn publish_slow_variables() {
    expvar::publish_func("attack_slow", || {
        std::thread::sleep(Duration::from_secs(5));
        "slow"
    })
    .expect("publish");
    expvar::publish_func("attack_hung", || -> u64 {
        loop {
            std::thread::park();
        }
    })
    .expect("publish");
}
