use expvar::counted;

#[counted(objective = "99% < 250ms")]
fn handle() {}

fn main() {}
