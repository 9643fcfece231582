//! Go's expvar walkthrough, in Rust: a request counter, an error counter, a map of API
//! results and a computed value, served at http://127.0.0.1:6060/debug/vars while the
//! program does some work.
//!
//! ```text
//! cargo run --example quickstart
//! curl -s 127.0.0.1:6060/debug/vars
//! ```
//!
//! `EXPVAR_ADDR=127.0.0.1:9000` changes the address; `--vars N` also publishes N
//! integers `counter_00000`.. (as Go's reference server does, for load comparisons).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use expvar::{Counter, Gauge, Histogram, Map, Str};

// Go: var requests = expvar.NewInt("requests")
static REQUESTS: Counter = Counter::new();
static ERRORS: Counter = Counter::new();
// Go: var results = expvar.NewMap("api_results")
static API_RESULTS: Map<Counter> = Map::with_label("result");
static IN_FLIGHT: Gauge = Gauge::new();
static LATENCY: Histogram = Histogram::new();
static VERSION: Str = Str::new();

fn main() {
    // The runtime reports problems (serving beyond loopback without credentials, a
    // variable left out of /metrics) through `log`: without a logger they are silent.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();

    expvar::publish("requests", &REQUESTS).unwrap();
    expvar::publish("errors", &ERRORS).unwrap();
    expvar::publish("api_results", &API_RESULTS).unwrap();
    expvar::publish("in_flight", &IN_FLIGHT).unwrap();
    expvar::publish("latency_seconds", &LATENCY).unwrap();
    expvar::publish("version", &VERSION).unwrap();
    VERSION.set(env!("CARGO_PKG_VERSION"));

    // Go: expvar.Publish("uptime", expvar.Func(...)): computed on every read.
    let started = Instant::now();
    expvar::publish_func("uptime_seconds", move || started.elapsed().as_secs_f64()).unwrap();

    for i in 0..extra_vars_from_args() {
        let counter = Arc::new(Gauge::new());
        counter.set(i as i64);
        expvar::publish(format!("counter_{i:05}"), counter).unwrap();
    }

    let server = match expvar::serve() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    let addr = server.local_addr();
    println!("serving http://{addr}/debug/vars");
    println!("Prometheus metrics at http://{addr}/metrics");
    println!("live dashboard at http://{addr}/debug/dashboard");

    // The "work": a few threads handling simulated requests.
    let seed = Arc::new(AtomicU64::new(1));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let seed = Arc::clone(&seed);
            thread::spawn(move || loop {
                handle_request(seed.fetch_add(1, Ordering::Relaxed));
                thread::sleep(Duration::from_millis(50));
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

fn handle_request(n: u64) {
    REQUESTS.inc();
    IN_FLIGHT.inc();
    let start = Instant::now();
    // A deterministic mix of outcomes and durations.
    thread::sleep(Duration::from_micros(200 + (n * 7919) % 5000));
    let result = match n % 10 {
        0 => "fail",
        1 | 2 => "retry",
        _ => "success",
    };
    if result == "fail" {
        ERRORS.inc();
    }
    API_RESULTS.inc(result);
    LATENCY.record_duration(start.elapsed());
    IN_FLIGHT.dec();
}

fn extra_vars_from_args() -> usize {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == "--vars") {
        Some(index) => match args.get(index + 1).and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                eprintln!("usage: quickstart [--vars N]");
                std::process::exit(2);
            }
        },
        None => 0,
    }
}
