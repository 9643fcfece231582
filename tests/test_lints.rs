//! The generated code is warning-free under strict lints (including `unsafe_code`:
//! the link-time registration stays inside `inventory`) and means the same with
//! shadowing names in scope: every path it uses starts with `::expvar::__private`.
#![deny(
    warnings,
    missing_docs,
    clippy::pedantic,
    rust_2018_idioms,
    unsafe_code
)]
#![allow(dead_code)] // Some items exist only to be expanded.

// Names a careless expansion would pick up instead of the real ones.
struct Option;
struct Result;
struct Some;
struct None;
mod expvar {}
mod inventory {}
mod core {}
mod std {}
#[allow(unused_macros)] // Unused is the point.
macro_rules! concat {
    ($($t:tt)*) => {
        compile_error!("the local concat! was used")
    };
}
#[allow(unused_macros)] // Unused is the point.
macro_rules! line {
    () => {
        compile_error!("the local line! was used")
    };
}

use ::expvar::{counted, timed, Counter, Expvar, Gauge, Map};

/// Statistics with every kind of field.
#[derive(Expvar, Default)]
pub struct TestLintsStats {
    /// Requests served.
    pub requests: Counter,
    /// In flight.
    pub in_flight: Gauge,
    /// Responses by status.
    #[expvar(label = "status")]
    pub by_status: Map<Counter>,
    #[expvar(skip)]
    scratch: Vec<u8>,
}

/// A documented error.
#[derive(Debug)]
pub struct Failure;

/// A counted function returning a result.
///
/// # Errors
///
/// When `fail` is set.
#[counted]
pub fn fallible(fail: bool) -> ::core::result::Result<u32, Failure> {
    if fail {
        return ::core::result::Result::Err(Failure);
    }
    ::core::result::Result::Ok(1)
}

/// A timed function returning an option.
#[counted(name = "test_lints_lookup_total")]
#[timed]
#[must_use]
pub fn lookup(key: &str) -> ::core::option::Option<usize> {
    (!key.is_empty()).then_some(key.len())
}

/// A timed async function.
///
/// # Errors
///
/// Never.
#[timed]
pub async fn fetch(id: u64) -> ::core::result::Result<u64, Failure> {
    ::core::result::Result::Ok(id)
}

/// A type with instrumented methods.
pub struct Repo;

#[timed]
impl Repo {
    /// Finds nothing.
    #[must_use]
    pub fn find(&self) -> ::core::option::Option<&Self> {
        ::core::option::Option::Some(self)
    }

    /// Does nothing, asynchronously.
    pub async fn save(&mut self) {}
}

/// Published at link time.
#[::expvar::publish]
pub static TEST_LINTS_HITS: Counter = Counter::new();

#[test]
fn expansions_work_with_shadowing_names_in_scope() {
    TestLintsStats::global().requests.inc();
    assert!(fallible(true).is_err());
    assert_eq!(lookup("ab"), ::core::option::Option::Some(2));
    assert!(Repo.find().is_some());
    TEST_LINTS_HITS.inc();
    let stats = ::expvar::functions::function_stats("test_lints::fallible").unwrap();
    assert_eq!((stats.calls(), stats.errors()), (1, 1));
    assert_eq!(
        ::expvar::render_json(&*::expvar::get("test_lints_stats").unwrap()),
        r#"{"requests": 1, "in_flight": 0, "by_status": {}}"#
    );
    let _ = (Option, Result, Some, None);
}
