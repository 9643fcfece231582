//! `memstats`: the fields of Go's `runtime.MemStats`, so tools that read Go's
//! `/debug/vars` (Metricbeat, Datadog, expvarmon, ...) accept a Rust process.
//!
//! Every field is present with Go's JSON type. Rust has no garbage collector, so the
//! GC fields are zero; allocator and OS figures are filled in where they are known.

use crate::var::{ObjectWriter, Var, Writer};

/// Entries in Go's `MemStats.PauseNs` and `PauseEnd` ring buffers.
const PAUSE_RING_LEN: usize = 256;
/// Entries in Go's `MemStats.BySize`.
const SIZE_CLASSES: usize = 61;

/// The `memstats` variable.
pub(crate) struct MemStats;

/// Go's `runtime.MemStats` integer fields, in Go's declaration order, before the
/// pause rings.
const HEAD_FIELDS: [&str; 24] = [
    "Alloc",
    "TotalAlloc",
    "Sys",
    "Lookups",
    "Mallocs",
    "Frees",
    "HeapAlloc",
    "HeapSys",
    "HeapIdle",
    "HeapInuse",
    "HeapReleased",
    "HeapObjects",
    "StackInuse",
    "StackSys",
    "MSpanInuse",
    "MSpanSys",
    "MCacheInuse",
    "MCacheSys",
    "BuckHashSys",
    "GCSys",
    "OtherSys",
    "NextGC",
    "LastGC",
    "PauseTotalNs",
];

impl Var for MemStats {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            for name in HEAD_FIELDS {
                fields.field(name).counter(0);
            }
            write_zeros(fields, "PauseNs", PAUSE_RING_LEN);
            write_zeros(fields, "PauseEnd", PAUSE_RING_LEN);
            fields.field("NumGC").counter(0);
            fields.field("NumForcedGC").counter(0);
            fields.field("GCCPUFraction").float(0.0);
            // No garbage collector runs in a Rust process.
            fields.field("EnableGC").bool(false);
            fields.field("DebugGC").bool(false);
            let by_size = (0..SIZE_CLASSES)
                .map(|_| serde_json::json!({"Size": 0, "Mallocs": 0, "Frees": 0}))
                .collect();
            fields
                .field("BySize")
                .json(&serde_json::Value::Array(by_size));
        });
    }
}

fn write_zeros(fields: &mut ObjectWriter<'_>, name: &str, len: usize) {
    fields
        .field(name)
        .json(&serde_json::Value::Array(vec![0.into(); len]));
}
