//! Native histograms and exemplars: a latency distribution in exponential buckets, a
//! function under `#[timed(native)]`, and exemplars that lead from a sample to its
//! trace, served at `/metrics` in the protobuf exposition to a Prometheus that scrapes
//! native histograms.
//!
//! ```text
//! cargo run --example native
//! prometheus --enable-feature=native-histograms,exemplar-storage   # scraping it
//! ```
//!
//! `latency_seconds` holds 10,000 values spread evenly on a log scale from 1 ms to 10 s
//! (value `i` is `0.001 * 10000^(i / 9999)`); the ten largest keep exemplars whose
//! `trace_id` is their index, in 32 hex digits. `handle` runs 50 times. `jobs` counts
//! with an exemplar. `EXPVAR_ADDR` sets the address (default `127.0.0.1:6060`).

use expvar::{timed, Counter, Histogram};

static LATENCY: Histogram = Histogram::native();
static JOBS: Counter = Counter::new();

/// The values `latency_seconds` holds, in the order recorded.
fn values() -> impl Iterator<Item = f64> {
    (0..10_000).map(|i| 0.001 * 10_000f64.powf(f64::from(i) / 9_999.0))
}

#[timed(native)]
fn handle(request: u32) -> u32 {
    request.wrapping_mul(2_654_435_761)
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    expvar::publish("latency_seconds", &LATENCY).unwrap();
    expvar::publish("jobs", &JOBS).unwrap();

    for (i, value) in values().enumerate() {
        if i >= 9_990 {
            let trace_id = format!("{i:032x}");
            LATENCY
                .record_with_exemplar(value, &[("trace_id", &trace_id)])
                .unwrap();
        } else {
            LATENCY.record(value);
        }
    }
    for request in 0..50 {
        std::hint::black_box(handle(request));
    }
    JOBS.inc_with_exemplar(&[("trace_id", "00000000000000000000000000c0ffee")])
        .unwrap();

    let server = match expvar::serve() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    println!("serving http://{}/metrics", server.local_addr());
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
