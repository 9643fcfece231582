#[expvar::counted]
struct Handler;

fn main() {
    let _ = Handler;
}
