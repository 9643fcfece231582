//! Go's [`expvar`](https://pkg.go.dev/expvar) for Rust: a program's live internal state
//! served as JSON at `/debug/vars`, as Prometheus metrics at `/metrics`, and as a live
//! dashboard at `/debug/dashboard`.
//!
//! The macros publish variables at link time, so nothing is registered by hand:
//! [`#[derive(Expvar)]`](derive@Expvar) for a struct of variables,
//! [`#[counted]`](counted) and [`#[timed]`](timed) for functions (calls, errors, calls in
//! flight, latency), [`#[expvar::publish]`](macro@publish) for one `static`. [`serve`]
//! starts the endpoint on a background thread.
//!
//! ```no_run
//! use expvar::{counted, timed, Counter, Expvar, Map};
//!
//! #[derive(Expvar, Default)]
//! struct ApiStats {
//!     /// Requests received.
//!     total: Counter,
//!     /// Responses sent, by status code.
//!     #[expvar(label = "status")]
//!     responses: Map<Counter>,
//! }
//!
//! #[counted]
//! #[timed]
//! fn lookup(id: u32) -> Option<u32> { id.checked_mul(2) }
//!
//! fn main() {
//!     let _server = expvar::serve().unwrap(); // http://127.0.0.1:6060/debug/vars
//!     ApiStats::global().total.inc();
//!     ApiStats::global().responses.inc("200");
//!     lookup(21);
//! }
//! ```
//!
//! Variables are cheap to update (a [`Counter`] increment is a plain per-thread add).
//! To publish at run time instead, as Go's `expvar.Publish` does, use the
//! [`publish`](fn@publish) function:
//!
//! ```
//! use expvar::{Counter, Map};
//!
//! static REQUESTS: Counter = Counter::new();
//! static RESULTS: Map<Counter> = Map::with_label("result");
//!
//! expvar::publish("requests", &REQUESTS).unwrap();
//! expvar::publish("results", &RESULTS).unwrap();
//! REQUESTS.inc();
//! RESULTS.add("success", 1);
//! assert!(expvar::to_json().contains(r#""results": {"success": 1}"#));
//! ```
//!
//! Each [`Registry`] is a value: the global one serves by default, and a test or a
//! component can publish into one of its own and render or serve it
//! ([`Registry::to_json`], [`ServerBuilder::registry`]).
//!
//! # Where things are
//!
//! The everyday names are at the root: the variable types, [`Var`] and [`Writer`],
//! [`Registry`] and the functions that publish into and render the global one, [`serve`],
//! [`service`] and [`ServerBuilder`], [`CountingAlloc`], [`Objective`], and the macros. The rest is
//! grouped by concept:
//!
//! | module | holds |
//! | --- | --- |
//! | [`vars`] | what a variable of your own needs beyond [`Writer`]: [`vars::Unit`], [`vars::Distribution`], [`vars::ObjectWriter`], handles ([`vars::VarRef`]), the histogram and map constants |
//! | [`registry`] | [`registry::RegistryRef`], errors and conflicts of publishing, [`registry::render_failures`] |
//! | [`prometheus`] | the `/metrics` options ([`prometheus::PrometheusOptions`]), formats and content types |
//! | `server` | the mountable service, its body and errors, health checks, hardware thresholds |
//! | [`stats`] | the process, memory and allocator statistics as types |
//! | [`functions`] | the statistics `#[counted]` and `#[timed]` keep per function |
//! | `push` | (features `remote-write`, `otlp`) the pushers' errors and TLS settings; `RemoteWrite`, `Otlp` and `PushHandle` are at the root |
//! | [`objectives`] | service level objectives: targets, windows, their burn rates and state, the Prometheus rules |
//!
//! # Cargo features
//!
//! Only `server` is on by default.
//!
//! | feature | adds |
//! | --- | --- |
//! | `server` | the HTTP server: [`serve`], [`ServerBuilder`], the mountable [`ExpvarService`](server::ExpvarService), health and hardware endpoints, the dashboard (hyper, hyper-util, tokio). Off (`default-features = false`), `expvar` is the variables, macros, registries and encoders, with no HTTP stack |
//! | `tower` | a `tower::Service` impl for [`ExpvarService`](server::ExpvarService), to mount it in axum |
//! | `tokio-stats` | `TokioRuntime`, a variable with a tokio runtime's scheduler statistics |
//! | `pprof` | `/debug/pprof/profile`: CPU profiles for `go tool pprof`, and flame graphs |
//! | `jemalloc` | the `jemalloc` variable and `JemallocStats`, for programs using `tikv-jemallocator` |
//! | `remote-write` | `RemoteWrite`: pushes the registry to a Prometheus remote-write receiver from a thread of its own; `push` holds its errors and TLS settings |
//! | `otlp` | `Otlp`: pushes the registry as OTLP/HTTP metrics |
//!
//! The README (on the repository and on crates.io) is the user guide: variables, macros,
//! serving and mounting, the `/debug/vars` layout, Prometheus, the dashboard, memory and
//! process statistics. `expvar::runtime` names the runtime crate; everything in it is
//! also re-exported here.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use expvar_runtime as runtime;

#[doc(inline)]
pub use expvar_runtime::*;

#[doc(hidden)]
pub use expvar_runtime::__private;

mod macros;

pub use macros::*;

/// Every Rust block of README.md, compiled and run as a doctest: what the README shows
/// must work as written.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
