//! The runtime of [`expvar`](https://docs.rs/expvar): variable types, the registry, the
//! encoders and the `/debug/vars` server.
//!
//! Use it through the `expvar` crate, which re-exports everything here next to the
//! macros; `expvar::runtime` names this crate.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

mod builtin;
mod counter;
mod encode;
mod float;
mod func;
mod function;
mod gauge;
mod histogram;
mod map;
mod memstats;
mod registry;
mod server;
mod slots;
mod str;
mod var;

#[doc(hidden)]
pub mod __private;

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
pub use histogram::{Histogram, HistogramSummary, DEFAULT_BUCKETS, QUANTILE_RELATIVE_ERROR};
pub use map::{Map, DEFAULT_LABEL};
pub use registry::{
    conflicts, for_each, get, publish, publish_func, render_failures, unpublish, Conflict,
    IntoVarRef, PublishError, Site, VarRef,
};
pub use server::{
    serve, service, Body, ExpvarService, ServeError, ServerBuilder, ServerHandle, ADDR_ENV,
    DEFAULT_ADDR,
};
pub use str::Str;
pub use var::{MapWriter, ObjectWriter, Var, Writer};
