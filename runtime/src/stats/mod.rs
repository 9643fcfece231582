//! Figures of the process itself: memory, CPU, allocator and runtime statistics.

pub(crate) mod alloc;
mod cmdline;
pub(crate) mod heap;
#[cfg(feature = "jemalloc")]
pub(crate) mod jemalloc;
pub(crate) mod memstats;
pub(crate) mod process;
#[cfg(feature = "tokio-stats")]
pub(crate) mod tokio_runtime;
