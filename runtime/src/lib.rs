//! The runtime of [`expvar`](https://docs.rs/expvar): variable types, the registry, the
//! encoders and the `/debug/vars` server.
//!
//! Use it through the `expvar` crate, which re-exports everything here next to the
//! macros; `expvar::runtime` names this crate.
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

#[cfg(any(feature = "server", feature = "remote-write", feature = "otlp"))]
mod capture;
mod encode;
pub mod objectives;
#[cfg(any(feature = "remote-write", feature = "otlp"))]
pub mod push;
pub mod registry;
#[cfg(feature = "server")]
pub mod server;
mod slots;
pub mod stats;
pub mod vars;

#[doc(hidden)]
pub mod __private;

// The everyday names: the variables, publishing and rendering, serving.
pub use encode::json::render_json;
pub use objectives::Objective;
#[cfg(feature = "otlp")]
pub use push::Otlp;
#[cfg(any(feature = "remote-write", feature = "otlp"))]
pub use push::PushHandle;
#[cfg(feature = "remote-write")]
pub use push::RemoteWrite;
pub use registry::{get, publish, publish_func, to_json, to_prometheus, unpublish, Registry};
#[cfg(feature = "server")]
pub use server::{serve, service, service_for, ServerBuilder};
pub use stats::alloc::CountingAlloc;
pub use vars::counter::Counter;
pub use vars::float::Float;
pub use vars::func::Func;
pub use vars::gauge::Gauge;
pub use vars::histogram::Histogram;
pub use vars::map::Map;
pub use vars::str::Str;
pub use vars::{Var, Writer};

/// `/metrics` in the Prometheus formats: the options (namespace, constant labels,
/// version, format), the formats and their content types.
pub mod prometheus {
    pub use crate::encode::prometheus::{
        PrometheusFormat, PrometheusOptions, ReservedLabelError, OPENMETRICS_CONTENT_TYPE,
        PROTOBUF_CONTENT_TYPE, RESERVED_LABELS, TEXT_CONTENT_TYPE,
    };
    pub use crate::registry::{to_prometheus_protobuf, to_prometheus_with};
}

/// The statistics `#[counted]` and `#[timed]` keep for each function: calls, errors,
/// calls in flight and latency, published together as `functions`.
pub mod functions {
    pub use crate::registry::functions::{
        for_each_function, function_stats, native_durations, set_native_durations, FunctionInfo,
        FunctionStats, FUNCTIONS_VAR,
    };
}
