//! `#[timed]`: durations recorded once per finished call, shared entries with
//! `#[counted]`, async functions timed from first poll to completion.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use expvar::{counted, timed};
use serde_json::Value;

fn stats(key: &str) -> &'static expvar::functions::FunctionStats {
    expvar::functions::function_stats(key).unwrap_or_else(|| panic!("no function entry {key:?}"))
}

fn entry(key: &str) -> Value {
    let functions: Value =
        serde_json::from_str(&expvar::render_json(&*expvar::get("functions").unwrap())).unwrap();
    functions[key].clone()
}

#[timed]
fn sleepy(millis: u64) {
    std::thread::sleep(Duration::from_millis(millis));
}

#[test]
fn every_call_records_one_duration_in_seconds() {
    sleepy(20);
    sleepy(1);
    let stats = stats("test_timed::sleepy");
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.duration().count(), 2);
    assert!(
        stats.duration().sum() >= 0.021,
        "{}",
        stats.duration().sum()
    );
    let entry = entry("test_timed::sleepy");
    let mut keys: Vec<&str> = entry["duration"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    for expected in ["count", "max", "min", "p50", "p90", "p99", "sum"] {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }
    assert_eq!(entry["calls"], 2);
    assert_eq!(entry["in_flight"], 0);
    assert!(entry.get("errors").is_none());
}

#[derive(Debug)]
struct NotFound;

#[counted]
#[timed]
fn both(id: u32) -> Result<u32, NotFound> {
    if id == 0 {
        return Err(NotFound);
    }
    Ok(id)
}

#[timed]
#[counted(name = "test_timed_both_named")]
fn both_named() {}

#[test]
fn counted_and_timed_share_one_entry() {
    assert!(both(0).is_err());
    assert_eq!(both(4).unwrap(), 4);
    let both = stats("test_timed::both");
    assert_eq!(
        (both.calls(), both.errors(), both.duration().count()),
        (2, 1, 2)
    );
    let mut count = 0;
    expvar::functions::for_each_function(|info, _| {
        if info.function == "both" {
            count += 1;
            assert!(info.timed && info.fallible);
        }
    });
    assert_eq!(count, 1);

    both_named();
    assert_eq!(stats("test_timed_both_named").duration().count(), 1);
    assert_eq!(
        expvar::render_json(&*expvar::get("test_timed_both_named").unwrap()),
        "1"
    );
}

#[timed]
async fn wait(millis: u64) -> Option<u64> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    (millis > 0).then_some(millis)
}

#[tokio::test]
async fn async_durations_include_awaits() {
    assert_eq!(wait(30).await, Some(30));
    assert_eq!(wait(0).await, None);
    let stats = stats("test_timed::wait");
    assert_eq!(
        (stats.calls(), stats.errors(), stats.duration().count()),
        (2, 1, 2)
    );
    // Wall time from first poll to completion: the 30 ms sleep is in it.
    assert!(
        stats.duration().sum() >= 0.030,
        "{}",
        stats.duration().sum()
    );
}

#[timed]
async fn stuck() {
    std::future::pending::<()>().await;
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_dropped_future_records_its_time_and_leaves_nothing_in_flight() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut context = Context::from_waker(&waker);
    {
        let mut future = pin!(stuck());
        assert!(future.as_mut().poll(&mut context).is_pending());
        assert_eq!(stats("test_timed::stuck").duration().count(), 0);
    }
    let stats = stats("test_timed::stuck");
    assert_eq!(
        (
            stats.calls(),
            stats.errors(),
            stats.in_flight(),
            stats.duration().count()
        ),
        (1, 0, 0, 1)
    );
}

struct Store;

#[timed]
impl Store {
    fn get(&self, key: &str) -> Option<usize> {
        (!key.is_empty()).then_some(key.len())
    }

    async fn save(&mut self) {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn every_method_of_an_impl_block_is_timed() {
    let mut store = Store;
    assert_eq!(store.get("abc"), Some(3));
    assert_eq!(store.get(""), None);
    store.save().await;
    let get = stats("test_timed::Store::get");
    assert_eq!(
        (get.calls(), get.errors(), get.duration().count()),
        (2, 1, 2)
    );
    assert_eq!(stats("test_timed::Store::save").duration().count(), 1);
}
