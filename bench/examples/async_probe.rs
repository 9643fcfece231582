//! Calls of an `async fn` with `#[counted]`, each polled to completion on this thread with
//! a no-op waker (no runtime): for instruction counts per call under callgrind.
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/async_probe 100000
//! ```
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[expvar::counted(name = "probe_counted_async_fn")]
#[inline(never)]
async fn counted_async_fn() {
    black_box(());
}

fn main() {
    let calls: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().unwrap());
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..=calls {
        let future = pin!(counted_async_fn());
        assert!(matches!(future.poll(&mut context), Poll::Ready(())));
    }
    let stats = expvar::functions::function_stats("probe_counted_async_fn").unwrap();
    assert_eq!((stats.calls(), stats.in_flight()), (calls + 1, 0));
}
