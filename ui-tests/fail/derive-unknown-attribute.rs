use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(renam = "total")]
    requests: Counter,
}

fn main() {
    // The fallback keeps the type usable: no further errors here.
    Stats::global().requests.inc();
    let _ = expvar::render_json(Stats::global());
}
