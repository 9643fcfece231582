use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    requests: Counter,
    retries: u64,
}

fn main() {}
