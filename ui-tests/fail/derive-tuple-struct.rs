use expvar::{Counter, Expvar};

#[derive(Expvar, Default)]
struct Stats(Counter, Counter);

fn main() {}
