use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
#[expvar(name = stats)]
struct Stats {
    #[expvar(skip = true)]
    requests: Counter,
}

fn main() {}
