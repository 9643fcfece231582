use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    requests: Counter,
    #[expvar(rename = "requests")]
    calls: Counter,
    #[expvar(skip, label = "kind")]
    scratch: Vec<u8>,
}

fn main() {}
