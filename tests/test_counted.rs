//! `#[counted]`: exact call, error and in-flight counts after known calls.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use expvar::counted;
use serde_json::{json, Value};

/// The entry for `key` in the `functions` variable, as JSON.
fn entry(key: &str) -> Value {
    let functions: Value =
        serde_json::from_str(&expvar::render_json(&*expvar::get("functions").unwrap())).unwrap();
    functions[key].clone()
}

fn stats(key: &str) -> &'static expvar::functions::FunctionStats {
    expvar::functions::function_stats(key).unwrap_or_else(|| panic!("no function entry {key:?}"))
}

#[counted]
fn plain() {}

#[test]
fn counts_calls_of_a_free_function() {
    for _ in 0..3 {
        plain();
    }
    assert_eq!(
        entry("test_counted::plain"),
        json!({"calls": 3, "in_flight": 0})
    );
}

#[derive(Debug)]
struct ParseError;

#[counted]
fn parse(text: &str) -> Result<u32, ParseError> {
    if text.is_empty() {
        return Err(ParseError);
    }
    let value = text.parse::<u32>().map_err(|_| ParseError)?;
    Ok(value * 2)
}

#[test]
fn result_errors_count_early_return_and_question_mark() {
    assert_eq!(parse("21").unwrap(), 42);
    assert!(parse("").is_err()); // early `return`
    assert!(parse("x").is_err()); // `?`
    assert_eq!(parse("1").unwrap(), 2);
    assert_eq!(
        entry("test_counted::parse"),
        json!({"calls": 4, "errors": 2, "in_flight": 0})
    );
}

#[counted]
fn first_even(values: &[u32]) -> Option<&u32> {
    values.iter().find(|value| *value % 2 == 0)
}

#[test]
fn option_none_counts_as_an_error() {
    assert_eq!(first_even(&[1, 2, 3]), Some(&2));
    assert_eq!(first_even(&[1, 3]), None);
    assert_eq!(first_even(&[]), None);
    let stats = stats("test_counted::first_even");
    assert_eq!(
        (stats.calls(), stats.errors(), stats.in_flight()),
        (3, 2, 0)
    );
}

#[counted]
fn may_panic(fail: bool) -> u32 {
    assert!(!fail, "asked to fail");
    7
}

#[test]
fn a_caught_panic_counts_as_an_error_and_leaves_nothing_in_flight() {
    assert_eq!(may_panic(false), 7);
    assert!(std::panic::catch_unwind(|| may_panic(true)).is_err());
    let stats = stats("test_counted::may_panic");
    assert_eq!(
        (stats.calls(), stats.errors(), stats.in_flight()),
        (2, 1, 0)
    );
    // Not fallible by its return type: the JSON has no `errors` field.
    assert_eq!(
        entry("test_counted::may_panic"),
        json!({"calls": 2, "in_flight": 0})
    );
}

#[counted]
fn generic<T: ToString>(value: T) -> String {
    value.to_string()
}

#[test]
fn instantiations_of_a_generic_function_share_one_entry() {
    assert_eq!(generic(1_u8), "1");
    assert_eq!(generic("two"), "two");
    assert_eq!(generic(3.5_f64), "3.5");
    assert_eq!(stats("test_counted::generic").calls(), 3);
}

#[counted(name = "test_counted_requests_total")]
fn index() -> &'static str {
    "hello"
}

#[test]
fn a_name_replaces_the_key_and_publishes_the_count() {
    index();
    index();
    assert_eq!(stats("test_counted_requests_total").calls(), 2);
    let published = expvar::get("test_counted_requests_total").unwrap();
    assert_eq!(expvar::render_json(&*published), "2");
}

#[counted]
fn concurrent() {}

#[test]
fn calls_from_several_threads_are_all_counted() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..1000 {
                    concurrent();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let stats = stats("test_counted::concurrent");
    assert_eq!((stats.calls(), stats.in_flight()), (8000, 0));
}

struct Repo {
    rows: Vec<u32>,
}

#[counted]
impl Repo {
    const fn empty() -> Self {
        Repo { rows: Vec::new() }
    }

    fn find(&self, row: u32) -> Option<u32> {
        self.rows
            .iter()
            .copied()
            .find(|&candidate| candidate == row)
    }

    fn insert(&mut self, row: u32) {
        self.rows.push(row);
    }

    #[expvar(skip)]
    fn len(&self) -> usize {
        self.rows.len()
    }
}

#[test]
fn every_method_of_an_impl_block_is_counted_under_type_method() {
    let mut repo = Repo::empty();
    repo.insert(1);
    repo.insert(2);
    assert_eq!(repo.find(2), Some(2));
    assert_eq!(repo.find(3), None);
    assert_eq!(repo.len(), 2);
    assert_eq!(stats("test_counted::Repo::insert").calls(), 2);
    let find = stats("test_counted::Repo::find");
    assert_eq!((find.calls(), find.errors()), (2, 1));
    assert!(expvar::functions::function_stats("test_counted::Repo::len").is_none());
    assert!(expvar::functions::function_stats("test_counted::Repo::empty").is_none());
}

trait Shape {
    fn area(&self) -> f64;
}

struct Square(f64);

#[counted]
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

struct Circle(f64);

impl Circle {
    #[counted]
    fn circumference(&self) -> f64 {
        2.0 * std::f64::consts::PI * self.0
    }
}

#[test]
fn trait_impls_and_single_methods() {
    assert!((Square(2.0).area() - 4.0).abs() < f64::EPSILON);
    assert!(Circle(1.0).circumference() > 6.0);
    assert_eq!(stats("test_counted::<Square as Shape>::area").calls(), 1);
    // A method's own attribute cannot see the `impl`'s type.
    assert_eq!(stats("test_counted::circumference").calls(), 1);
}

#[counted]
unsafe fn read_first(pointer: *const u32) -> u32 {
    // Applies to the whole body: the block below is redundant in an `unsafe fn`.
    #![allow(unused_unsafe)]
    unsafe { *pointer }
}

#[counted]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|value| value % 2 == 0)
}

#[test]
fn unsafe_fns_impl_trait_returns_and_inner_attributes() {
    let value = 5;
    // SAFETY: `value` is a live `u32`.
    assert_eq!(unsafe { read_first(&value) }, 5);
    assert_eq!(evens(7).count(), 4);
    assert_eq!(stats("test_counted::read_first").calls(), 1);
    assert_eq!(stats("test_counted::evens").calls(), 1);
}

#[counted]
async fn lookup(id: u64) -> Result<String, ParseError> {
    tokio::task::yield_now().await;
    if id % 2 == 0 {
        Ok(format!("user {id}"))
    } else {
        Err(ParseError)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_fns_count_on_a_real_executor() {
    let tasks: Vec<_> = (0..10).map(|id| tokio::spawn(lookup(id))).collect();
    for task in tasks {
        let _ = task.await.unwrap();
    }
    let stats = stats("test_counted::lookup");
    assert_eq!(
        (stats.calls(), stats.errors(), stats.in_flight()),
        (10, 5, 0)
    );
}

#[counted]
async fn never_finishes() -> Result<(), ParseError> {
    std::future::pending::<()>().await;
    Ok(())
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_dropped_future_is_counted_and_leaves_nothing_in_flight() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut context = Context::from_waker(&waker);
    {
        let mut future = pin!(never_finishes());
        assert!(future.as_mut().poll(&mut context).is_pending());
        assert_eq!(stats("test_counted::never_finishes").in_flight(), 1);
    }
    // Never polled: not started, so not counted.
    drop(never_finishes());
    let stats = stats("test_counted::never_finishes");
    assert_eq!(
        (stats.calls(), stats.errors(), stats.in_flight()),
        (1, 0, 0)
    );
}

mod reexport {
    //! A crate that re-exports `expvar` under another path.
    pub mod metrics {
        pub use expvar::*;
    }
}

#[counted(crate = reexport::metrics)]
fn via_reexport() {}

#[test]
fn the_crate_path_can_be_overridden() {
    via_reexport();
    assert_eq!(stats("test_counted::via_reexport").calls(), 1);
}

struct Bag {
    items: Vec<u32>,
}

#[counted]
impl Bag {
    fn get_mut(&mut self, index: Option<usize>) -> Option<&mut u32> {
        let index = index?;
        self.items.get_mut(index)
    }

    async fn get_mut_later(&mut self, index: usize) -> Option<&mut u32> {
        tokio::task::yield_now().await;
        self.items.get_mut(index)
    }
}

#[tokio::test]
async fn fallible_methods_can_return_borrows_of_self() {
    let mut bag = Bag { items: vec![1, 2] };
    *bag.get_mut(Some(0)).unwrap() += 10;
    assert!(bag.get_mut(None).is_none());
    *bag.get_mut_later(1).await.unwrap() += 20;
    assert!(bag.get_mut_later(5).await.is_none());
    assert_eq!(bag.items, [11, 22]);
    let sync = stats("test_counted::Bag::get_mut");
    assert_eq!((sync.calls(), sync.errors()), (2, 1));
    let later = stats("test_counted::Bag::get_mut_later");
    assert_eq!((later.calls(), later.errors()), (2, 1));
}

/// Pending on its first poll, ready on the next: a point where a future can move.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

#[counted]
async fn moves_between_threads() {
    PendingOnce(false).await;
}

/// Polls `future` until it is pending.
fn start<F: Future>(future: &mut std::pin::Pin<Box<F>>) {
    let waker = Waker::from(Arc::new(NoopWaker));
    assert!(future
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
}

/// Polls `future` to its end.
fn finish<F: Future>(mut future: std::pin::Pin<Box<F>>) {
    let waker = Waker::from(Arc::new(NoopWaker));
    assert!(future
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready());
}

#[test]
fn an_async_call_is_finished_exactly_once_whatever_thread_it_ends_on() {
    // The guard keeps the `finished` slot of the thread the call started on; a call
    // that ends elsewhere must count there instead, even after its first thread exited
    // and another thread's table may have taken the freed table's address.
    let stats = stats("test_counted::moves_between_threads");
    let mut same = Box::pin(moves_between_threads());
    start(&mut same);
    finish(same);
    let moved = std::thread::spawn(|| {
        let mut future = Box::pin(moves_between_threads());
        start(&mut future);
        future
    })
    .join()
    .unwrap();
    // Its first thread has exited; threads that start now get new tables.
    let churn: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| expvar::Counter::new().inc()))
        .collect();
    churn.into_iter().for_each(|thread| thread.join().unwrap());
    std::thread::spawn(move || finish(moved)).join().unwrap();
    let mut here_later = Box::pin(moves_between_threads());
    start(&mut here_later);
    std::thread::spawn(move || finish(here_later))
        .join()
        .unwrap();
    assert_eq!(
        (stats.calls(), stats.finished(), stats.in_flight()),
        (3, 3, 0)
    );
}
