use expvar::counted;

#[counted(objective = "100%")]
fn everything() {}

#[counted(objective = "0%")]
fn nothing() {}

#[counted(objective = "-5%")]
fn negative() {}

#[counted(objective = "99.9")]
fn no_percent_sign() {}

fn main() {}
