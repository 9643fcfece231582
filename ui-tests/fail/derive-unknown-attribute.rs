use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(renam = "total")]
    requests: Counter,
}

fn main() {}
