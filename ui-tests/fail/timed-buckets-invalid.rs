use expvar::{counted, timed};

#[timed(buckets = [0.001, 0.01, 0.005])]
fn not_increasing() {}

#[timed(buckets = [0.001, 1e400])]
fn not_finite() {}

#[timed(buckets = [])]
fn empty() {}

#[timed(buckets = 0.001)]
fn not_a_list() {}

#[timed(buckets = [0.001, "0.01"])]
fn not_a_number() {}

#[counted(buckets = [0.001])]
fn counted_records_no_durations() {}

fn main() {}
