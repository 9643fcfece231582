//! Go's `cmdline`: the process's command line.

use crate::vars::entry::Entry;
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

inventory::submit! {
    Entry::new("cmdline", || &Cmdline, file!(), line!())
}
