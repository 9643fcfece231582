//! Go's [`expvar`](https://pkg.go.dev/expvar) for Rust: a program's live internal state
//! served as JSON at `/debug/vars`.
//!
//! Variables are cheap to update (a [`Counter`] increment is a plain per-thread add)
//! and are published by name, either at run time with [`publish`](fn@publish) or at
//! link time by the macros: [`#[derive(Expvar)]`](derive@Expvar) for a struct of
//! variables, [`#[counted]`](counted) and [`#[timed]`](timed) for functions,
//! [`#[expvar::publish]`](macro@publish) for one `static`. [`serve`] starts the endpoint
//! on a background thread.
//!
//! ```no_run
//! use expvar::{Counter, Map};
//!
//! static REQUESTS: Counter = Counter::new();
//! static RESULTS: Map<Counter> = Map::with_label("result");
//!
//! expvar::publish("requests", &REQUESTS).unwrap();
//! expvar::publish("results", &RESULTS).unwrap();
//! let _server = expvar::serve().unwrap(); // http://127.0.0.1:6060/debug/vars
//!
//! REQUESTS.inc();
//! RESULTS.add("success", 1);
//! ```
//!
//! `expvar::runtime` names the runtime crate; everything in it is also re-exported here.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub use expvar_runtime as runtime;

#[doc(inline)]
pub use expvar_runtime::*;

#[doc(hidden)]
pub use expvar_runtime::__private;

mod macros;

pub use macros::*;
