//! Variables every process publishes: Go's `cmdline` and `memstats`, and `process`
//! (and `jemalloc` with that feature).

use crate::stats::memstats::MemStats;
use crate::stats::process::Process;
use crate::vars::{Var, Writer};

/// The process's command line as an array of strings (Go's `cmdline`).
struct Cmdline;

impl Var for Cmdline {
    fn write(&self, out: Writer<'_>) {
        // The arguments never change: built once, so a read allocates nothing.
        static ARGS: once_cell::sync::Lazy<serde_json::Value> = once_cell::sync::Lazy::new(|| {
            std::env::args_os()
                .map(|arg| serde_json::Value::String(arg.to_string_lossy().into_owned()))
                .collect()
        });
        // A list of strings: no figure for the metric views.
        out.json_only().json(&ARGS);
    }

    fn __may_block(&self) -> bool {
        false
    }
}

fn cmdline() -> &'static dyn Var {
    &Cmdline
}

fn memstats() -> &'static dyn Var {
    &MemStats
}

fn process() -> &'static dyn Var {
    &Process
}

inventory::submit! {
    crate::registry::Entry::new("cmdline", cmdline, file!(), line!())
}

inventory::submit! {
    crate::registry::Entry::new("memstats", memstats, file!(), line!())
}

inventory::submit! {
    crate::registry::Entry::new("process", process, file!(), line!())
}

#[cfg(feature = "jemalloc")]
fn jemalloc() -> &'static dyn Var {
    &crate::stats::jemalloc::Jemalloc
}

#[cfg(feature = "jemalloc")]
inventory::submit! {
    crate::registry::Entry::new("jemalloc", jemalloc, file!(), line!())
}
