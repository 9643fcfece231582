use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(native)]
    requests: Counter,
}

fn main() {}
