use expvar::{Counter, Expvar, Map};

#[derive(Expvar, Default)]
struct Stats {
    #[expvar(labels = [])]
    empty: Map<Map<Counter>>,
    #[expvar(labels = ["method", 200])]
    not_a_string: Map<Map<Counter>>,
    #[expvar(label = "method", labels = ["method", "status"])]
    both: Map<Map<Counter>>,
}

fn main() {}
