use expvar::{counted, timed};

#[counted(objective = "99.9%")]
#[timed(objective = "99%")]
fn two_success_rates() {}

#[timed(objective = "99% < 250ms", objective = "95% < 500ms")]
fn two_latencies() {}

#[counted(objective_name = "checkout")]
fn name_without_objective() {}

fn main() {}
