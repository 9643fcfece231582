//! Publishing a type that is not a variable names the trait and what to use instead.
struct Config {
    _retries: u32,
}

static CONFIG: Config = Config { _retries: 3 };

fn main() {
    expvar::publish("config", &CONFIG).unwrap();
}
