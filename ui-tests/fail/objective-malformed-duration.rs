use expvar::timed;

#[timed(objective = "99% < 250")]
fn no_unit() {}

#[timed(objective = "99% < 250 parsecs")]
fn unknown_unit() {}

#[timed(objective = "99% < 0ms")]
fn zero() {}

fn main() {}
