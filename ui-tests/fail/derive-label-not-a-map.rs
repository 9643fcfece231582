use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(label = "status")]
    requests: Counter,
}

fn main() {}
