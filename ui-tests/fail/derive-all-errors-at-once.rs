//! Every mistake in the item is reported in one compile.
use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
#[expvar(nme = "stats")]
struct Stats {
    #[expvar(rename = 1)]
    requests: Counter,
    #[expvar(skip, skip)]
    errors: Counter,
    #[expvar(label = "kind", label = "other")]
    by_kind: expvar::Map<Counter>,
}

fn main() {}
