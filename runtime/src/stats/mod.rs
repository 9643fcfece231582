//! Figures of the process itself: memory, CPU, allocator and runtime statistics, as
//! the `memstats` and `process` variables publish them, and as types to read or publish
//! yourself.

pub(crate) mod alloc;
mod cmdline;
pub(crate) mod heap;
#[cfg(feature = "jemalloc")]
pub(crate) mod jemalloc;
pub(crate) mod memstats;
pub(crate) mod process;
#[cfg(feature = "tokio-stats")]
pub(crate) mod tokio_runtime;

pub use alloc::{AllocStats, CountingAlloc, SizeClassStats};
#[cfg(feature = "jemalloc")]
pub use jemalloc::JemallocStats;
pub use process::ProcessStats;
#[cfg(feature = "tokio-stats")]
pub use tokio_runtime::TokioRuntime;
