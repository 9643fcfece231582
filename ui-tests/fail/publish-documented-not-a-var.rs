struct Config;

/// A documented static whose type is not a variable: the error is at its type.
#[expvar::publish]
static CONFIG: Config = Config;

fn main() {}
