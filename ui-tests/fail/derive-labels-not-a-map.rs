use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(labels = ["method", "status"])]
    requests: Counter,
}

fn main() {}
