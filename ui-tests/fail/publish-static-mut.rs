use expvar::Counter;

#[expvar::publish]
static mut REQUESTS: Counter = Counter::new();

fn main() {}
