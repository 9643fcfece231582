use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(buckets = [64.0, 512.0])]
    requests: Counter,
}

fn main() {}
