#[expvar::counted(nam = "requests")]
fn handle() {}

#[expvar::timed(name = 5)]
fn other() {}

fn main() {
    handle();
    other();
}
