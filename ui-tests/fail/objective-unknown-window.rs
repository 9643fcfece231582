use expvar::counted;

#[counted(objective = "99.9%", window = "7y")]
fn years() {}

#[counted(objective = "99.9%", window = "120d")]
fn too_long() {}

#[counted(window = "7d")]
fn no_objective() {}

fn main() {}
