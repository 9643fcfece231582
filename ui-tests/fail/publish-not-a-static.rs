#[expvar::publish]
fn requests() -> u64 {
    0
}

fn main() {
    let _ = requests();
}
