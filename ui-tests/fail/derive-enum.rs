use expvar::Expvar;

#[derive(Expvar)]
enum State {
    Idle,
    Busy,
}

fn main() {}
