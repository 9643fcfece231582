use expvar::timed;

// 100 ms is not a power of two: not a default bucket bound.
#[timed(objective = "99% < 100ms")]
fn default_buckets() {}

#[timed(buckets = [0.1, 0.5], objective = "99% < 250ms")]
fn own_buckets() {}

fn main() {}
