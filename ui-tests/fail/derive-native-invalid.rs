use expvar::{Counter, Expvar, Histogram, Map};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(native = true)]
    valued: Histogram,
    #[expvar(native, native)]
    twice: Histogram,
    #[expvar(label = "status", native)]
    by_status: Map<Counter>,
    #[expvar(skip, native)]
    skipped: Histogram,
}

fn main() {}
