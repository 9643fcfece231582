//! The runtime of [`expvar`](https://docs.rs/expvar): variable types, the registry, the
//! encoders and the `/debug/vars` server.
//!
//! Use it through the `expvar` crate, which re-exports everything here next to the
//! macros; `expvar::runtime` names this crate.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

mod alloc;
mod builtin;
mod counter;
mod encode;
mod float;
mod func;
mod function;
mod gauge;
mod hardware;
mod health;
mod histogram;
#[cfg(feature = "jemalloc")]
mod jemalloc;
mod map;
mod memstats;
#[cfg(feature = "pprof")]
mod pprof;
mod process;
mod registry;
mod server;
mod slots;
mod str;
#[cfg(feature = "tokio-stats")]
mod tokio_stats;
mod var;

#[doc(hidden)]
pub mod __private;

pub use alloc::{AllocStats, CountingAlloc, SizeClassStats};
pub use counter::Counter;
pub use encode::json::{render_json, to_json};
pub use encode::prometheus::{
    to_prometheus, to_prometheus_with, PrometheusFormat, PrometheusOptions,
    OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE,
};
pub use float::Float;
pub use func::Func;
pub use function::{
    for_each_function, function_stats, CallGuard, FunctionInfo, FunctionStats, Outcome,
    FUNCTIONS_VAR,
};
pub use gauge::Gauge;
pub use hardware::{Hardware, Thresholds};
pub use health::{add_readiness_check, check_readiness, remove_readiness_check};
pub use histogram::{Histogram, HistogramSummary, DEFAULT_BUCKETS, QUANTILE_RELATIVE_ERROR};
#[cfg(feature = "jemalloc")]
pub use jemalloc::JemallocStats;
pub use map::{Map, DEFAULT_LABEL};
pub use process::ProcessStats;
pub use registry::{
    conflicts, for_each, get, publish, publish_func, render_failures, unpublish, Conflict,
    IntoVarRef, PublishError, Site, VarRef,
};
pub use server::{
    serve, service, Body, ExpvarService, ResponseFuture, ServeError, ServerBuilder, ServerHandle,
    ADDR_ENV, DEFAULT_ADDR,
};
pub use str::Str;
#[cfg(feature = "tokio-stats")]
pub use tokio_stats::TokioRuntime;
pub use var::{MapWriter, ObjectWriter, Var, Writer};
