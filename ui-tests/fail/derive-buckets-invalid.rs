use expvar::{Counter, Expvar, Histogram, Map};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(buckets = [64.0, 32.0])]
    sizes: Histogram,
    #[expvar(label = "status", buckets = [1.0])]
    by_status: Map<Counter>,
    #[expvar(skip, buckets = [1.0])]
    skipped: Histogram,
}

fn main() {}
