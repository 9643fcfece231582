//! Every way to declare an objective compiles.
use expvar::{counted, timed};

#[counted(objective = "99.9%")]
fn success_rate() -> Result<(), String> {
    Ok(())
}

#[timed(objective = "99% < 250ms")]
fn latency() {}

#[counted(objective = "99.9%")]
#[timed(objective = "99% < 250ms", window = "7d")]
fn both() -> Option<u8> {
    Some(1)
}

#[timed(objective = "99.5%", objective = "90% < 62.5ms")]
fn both_in_one_attribute() {}

#[timed(buckets = [0.1, 0.3], objective = "95% < 300ms")]
fn own_buckets() {}

// Native durations count any threshold, not only bucket bounds.
#[timed(native, objective = "99% < 300ms")]
fn native_latency() {}

#[counted(objective = "99%", objective_name = "checkout", window = "4w")]
fn checkout_cart() {}

#[counted(objective = "99%", objective_name = "checkout", window = "4w")]
fn checkout_pay() {}

struct Repo;

#[timed(objective = "99% < 1s", objective_name = "repo")]
impl Repo {
    fn find(&self) {}
    async fn save(&mut self) {}
}

fn main() {
    let _ = success_rate();
    latency();
    native_latency();
    let _ = both();
    both_in_one_attribute();
    own_buckets();
    checkout_cart();
    checkout_pay();
    Repo.find();
    let _ = Repo.save();
}
