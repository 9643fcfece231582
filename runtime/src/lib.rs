//! The runtime of [`expvar`](https://docs.rs/expvar): variable types, the registry, the
//! encoders and the `/debug/vars` server.
//!
//! Use it through the `expvar` crate, which re-exports everything here next to the
//! macros; `expvar::runtime` names this crate.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

#[cfg(feature = "server")]
mod capture;
mod encode;
mod registry;
#[cfg(feature = "server")]
mod server;
mod slots;
mod stats;
mod vars;

#[doc(hidden)]
pub mod __private;

#[cfg(feature = "server")]
pub use capture::render_timeouts;
pub use encode::failures::render_failures;
pub use encode::json::render_json;
pub use encode::prometheus::{
    PrometheusFormat, PrometheusOptions, ReservedLabelError, OPENMETRICS_CONTENT_TYPE,
    RESERVED_LABELS, TEXT_CONTENT_TYPE,
};
pub use registry::functions::{
    for_each_function, function_stats, CallGuard, FunctionInfo, FunctionStats, Outcome,
    FUNCTIONS_VAR,
};
pub use registry::{
    conflicts, for_each, get, publish, publish_func, to_json, to_prometheus, to_prometheus_with,
    unpublish, Conflict, PublishError, Registry, RegistryRef,
};
#[cfg(feature = "server")]
pub use server::status::hardware::{Hardware, Thresholds};
#[cfg(feature = "server")]
pub use server::status::health::{add_readiness_check, check_readiness, remove_readiness_check};
#[cfg(feature = "server")]
pub use server::{
    serve, service, service_for, Body, ExpvarService, ResponseFuture, ServeError, ServerBuilder,
    ServerHandle, ADDR_ENV, DEFAULT_ADDR,
};
pub use stats::alloc::{AllocStats, CountingAlloc, SizeClassStats};
#[cfg(feature = "jemalloc")]
pub use stats::jemalloc::JemallocStats;
pub use stats::process::ProcessStats;
#[cfg(feature = "tokio-stats")]
pub use stats::tokio_runtime::TokioRuntime;
pub use vars::counter::Counter;
pub use vars::entry::Site;
pub use vars::float::Float;
pub use vars::func::Func;
pub use vars::gauge::Gauge;
pub use vars::histogram::{Histogram, HistogramSummary, DEFAULT_BUCKETS, QUANTILE_RELATIVE_ERROR};
pub use vars::map::{
    default_map_limit, set_default_map_limit, Map, DEFAULT_LABEL, DEFAULT_MAP_LIMIT, OVERFLOW_KEY,
};
pub use vars::str::Str;
pub use vars::{
    Distribution, IntoVarRef, MapWriter, ObjectWriter, Statistic, Unit, Var, VarRef, Writer,
};
