use expvar::{Counter, Expvar};

#[derive(Expvar)]
struct Stats {
    requests: Counter,
}

fn main() {}
