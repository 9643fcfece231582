//! [`TokioRuntime`]: a tokio runtime's scheduler statistics, the Rust analogue of Go's
//! goroutine count. Behind the `tokio-stats` feature.

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::vars::{Var, Writer};

/// A variable that reports a tokio runtime's workers, alive tasks and global queue
/// depth, read from tokio's stable [`RuntimeMetrics`](tokio::runtime::RuntimeMetrics)
/// (no `tokio_unstable` needed).
///
/// Fields: `flavor` (`"current_thread"` or `"multi_thread"`), `workers`, `alive_tasks`
/// (spawned and not yet finished, like Go's `runtime.NumGoroutine`),
/// `global_queue_depth` (tasks waiting in the shared queue: a sign of overload when it
/// grows) and, where 64-bit atomics exist, `busy_seconds` (time workers spent running
/// tasks, summed over workers).
///
/// ```
/// use std::sync::Arc;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     expvar::publish("doc_tokio", Arc::new(expvar::stats::TokioRuntime::current())).unwrap();
///     let task = tokio::spawn(std::future::pending::<()>());
///     let json = expvar::render_json(&*expvar::get("doc_tokio").unwrap());
///     assert!(json.contains(r#""alive_tasks": 1"#), "{json}");
///     task.abort();
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TokioRuntime {
    handle: Handle,
}

impl TokioRuntime {
    /// Reports the runtime behind `handle`.
    pub fn new(handle: Handle) -> Self {
        TokioRuntime { handle }
    }

    /// Reports the runtime the caller runs in.
    ///
    /// # Panics
    /// Outside a tokio runtime, as [`Handle::current`] does.
    pub fn current() -> Self {
        TokioRuntime::new(Handle::current())
    }
}

impl Var for TokioRuntime {
    fn write(&self, out: Writer<'_>) {
        let metrics = self.handle.metrics();
        out.object(|fields| {
            let flavor = match self.handle.runtime_flavor() {
                RuntimeFlavor::CurrentThread => "current_thread",
                RuntimeFlavor::MultiThread => "multi_thread",
                // Later tokio versions may add flavors.
                _ => "other",
            };
            fields.field("flavor").str(flavor);
            fields
                .field_with_help("workers", "Worker threads of the runtime.")
                .gauge(metrics.num_workers() as i64);
            fields
                .field_with_help("alive_tasks", "Tasks spawned and not yet finished.")
                .gauge(metrics.num_alive_tasks() as i64);
            fields
                .field_with_help(
                    "global_queue_depth",
                    "Tasks waiting in the runtime's global queue.",
                )
                .gauge(metrics.global_queue_depth() as i64);
            #[cfg(target_has_atomic = "64")]
            {
                let busy: f64 = (0..metrics.num_workers())
                    .map(|worker| metrics.worker_total_busy_duration(worker).as_secs_f64())
                    .sum();
                fields
                    .field_with_help("busy_seconds", "Time workers spent running tasks.")
                    .float(busy);
            }
        });
    }

    // Reads the process's own figures: no lock held long, no user code. Written in
    // place (on the rendering worker), not captured on a thread of its own.
    fn __may_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_workers_and_tasks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let stats = TokioRuntime::new(runtime.handle().clone());
        let tasks: Vec<_> = (0..3)
            .map(|_| runtime.spawn(std::future::pending::<()>()))
            .collect();
        let json: serde_json::Value = serde_json::from_str(&crate::render_json(&stats)).unwrap();
        assert_eq!(json["flavor"], "multi_thread");
        assert_eq!(json["workers"], 2);
        assert_eq!(json["alive_tasks"], 3);
        assert!(json["global_queue_depth"].as_u64().unwrap() <= 3);
        for task in tasks {
            task.abort();
        }
    }
}
