use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
#[expvar(name = "stats", name = "other")]
struct Stats {
    requests: Counter,
}

fn main() {}
