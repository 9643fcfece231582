#[expvar::publish]
static RETRIES: u64 = 3;

fn main() {}
