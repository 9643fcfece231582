use expvar::{counted, timed};

#[timed(native = true)]
fn valued() {}

#[timed(native, native)]
fn twice() {}

#[counted(native)]
fn counted_records_no_durations() {}

#[counted]
#[timed(native)]
#[timed(native)]
fn sibling_twice() {}

fn main() {}
