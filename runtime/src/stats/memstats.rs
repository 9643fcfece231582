//! `memstats`: the fields of Go's `runtime.MemStats`, so tools that read Go's
//! `/debug/vars` (Metricbeat, Datadog, expvarmon, ...) accept a Rust process.
//!
//! Every field is present with Go's JSON type. Rust has no garbage collector, so the
//! GC fields are zero. Heap sizes come from the allocator's own statistics (see
//! [`heap`](crate::stats::heap)); object and byte totals from
//! [`CountingAlloc`](crate::CountingAlloc) when it is the global allocator, else from
//! jemalloc's per-size-class statistics when jemalloc is (the `jemalloc` feature). A
//! field no source knows is 0, and the figures never contradict each other:
//! `Sys >= HeapSys >= HeapInuse >= HeapAlloc` and `TotalAlloc` is 0 or `>= HeapAlloc`.
//! The meaning of each field per source is in the README's `memstats` section.

use std::sync::{Mutex, PoisonError};

use once_cell::sync::Lazy;

use crate::stats::alloc::{AllocStats, SizeClassStats, CLASS_SIZES, SIZE_CLASSES};
use crate::stats::{heap, process};
use crate::vars::entry::Entry;
use crate::vars::{Unit, Var, Writer};

/// Entries in Go's `MemStats.PauseNs` and `PauseEnd` ring buffers.
const PAUSE_RING_LEN: usize = 256;

/// The `memstats` variable.
pub(crate) struct MemStats;

/// How an integer field is written.
#[derive(Clone, Copy)]
enum FieldKind {
    /// A total that never decreases.
    Counter,
    /// A size that goes up and down.
    Gauge,
}
use FieldKind::{Counter, Gauge};

/// The values behind the integer fields, computed once per read.
struct Figures {
    /// Go's `HeapAlloc`: counted live bytes with `CountingAlloc`, else the allocator's.
    heap_alloc: u64,
    heap_inuse: u64,
    heap_idle: u64,
    heap_released: u64,
    heap_sys: u64,
    /// The allocator's own bookkeeping (Go's `OtherSys`).
    other_sys: u64,
    /// Go's `Sys`: the address space the process mapped, at least `HeapSys`.
    sys: u64,
    counts: Option<Counts>,
}

/// Go's allocation counts: `Mallocs`, `Frees`, `HeapObjects`, `TotalAlloc`, `BySize`.
struct Counts {
    total_bytes: u64,
    mallocs: u64,
    frees: u64,
    live_objects: u64,
    by_size: [SizeClassStats; SIZE_CLASSES],
}

impl From<AllocStats> for Counts {
    fn from(alloc: AllocStats) -> Self {
        Counts {
            total_bytes: alloc.total_bytes,
            mallocs: alloc.mallocs,
            frees: alloc.frees,
            live_objects: alloc.live_objects,
            by_size: alloc.by_size,
        }
    }
}

impl Figures {
    fn read() -> Self {
        let alloc = AllocStats::read();
        // The document's one reading of the OS figures, shared with `process`.
        let os = process::document_stats();
        let sizes = heap::read(os.resident_memory_bytes);
        let heap_alloc = alloc
            .as_ref()
            .map_or(sizes.allocated, |alloc| alloc.live_bytes);
        let counts = match alloc {
            Some(alloc) => Some(Counts::from(alloc)),
            #[cfg(feature = "jemalloc")]
            None if sizes.source == heap::SizeSource::Jemalloc => jemalloc_counts(heap_alloc),
            None => None,
        };
        // Counts and sizes are read a moment apart: whichever moved meanwhile, the
        // ordering Go promises holds.
        let heap_inuse = sizes.inuse.max(heap_alloc);
        let heap_idle = sizes.idle;
        let heap_sys = heap_inuse + heap_idle;
        Figures {
            heap_alloc,
            heap_inuse,
            heap_idle,
            heap_released: sizes.released.min(heap_idle),
            heap_sys,
            other_sys: sizes.metadata,
            sys: os.virtual_memory_bytes.max(heap_sys + sizes.metadata),
            counts,
        }
    }

    fn counted(&self, read: impl FnOnce(&Counts) -> u64) -> u64 {
        self.counts.as_ref().map_or(0, read)
    }
}

/// What `Frees` (in total and per class) and `TotalAlloc` were last reported as from
/// jemalloc's figures: they are made to never go back.
#[cfg(feature = "jemalloc")]
struct Reported {
    frees: u64,
    class_frees: [u64; SIZE_CLASSES],
    total_bytes: u64,
}

/// Go's allocation counts from jemalloc's statistics of each size class, which the
/// allocation path keeps anyway (nothing is added to it).
///
/// `Mallocs` are jemalloc's allocation requests, `HeapObjects` the regions out of its
/// arenas, `Frees` the difference. A region freed into a thread's cache is still out of
/// the arenas, and requests served from a cache are added when it next fills or flushes
/// (at the latest at its next garbage collection, every 64 KiB a thread allocates):
/// `HeapObjects` can be high and `Frees` low by what threads' caches hold, at most
/// `opt.tcache_nslots_small_max` (200) regions per small class and 20 per cached large
/// class, per thread. The counts are exact once caches are flushed, which the test
/// does (`tests/test_memstats_jemalloc.rs`). A cache that fills makes the difference
/// smaller for a moment: `Frees` and `TotalAlloc` keep their highest value, so they
/// never go back.
#[cfg(feature = "jemalloc")]
fn jemalloc_counts(heap_alloc: u64) -> Option<Counts> {
    use crate::stats::{alloc::bucket, jemalloc};

    static REPORTED: Mutex<Reported> = Mutex::new(Reported {
        frees: 0,
        class_frees: [0; SIZE_CLASSES],
        total_bytes: 0,
    });
    let mut by_size = classes_with_zero_counts();
    let (mut mallocs, mut total_bytes, mut frees) = (0u64, 0u64, 0i128);
    let mut class_frees = [0i128; SIZE_CLASSES];
    jemalloc::for_each_class(|class| {
        let freed = i128::from(class.requests) - i128::from(class.live);
        mallocs = mallocs.wrapping_add(class.requests);
        total_bytes = total_bytes.wrapping_add(class.requests.wrapping_mul(class.size));
        frees += freed;
        // Each jemalloc class is counted in the first of Go's classes that holds it.
        if let Some(entry) = by_size.get_mut(bucket(class.size as usize)) {
            entry.mallocs += class.requests;
            class_frees[bucket(class.size as usize)] += freed;
        }
    })?;
    let at_least = |floor: &mut u64, value: i128, most: u64| {
        *floor = (*floor).max(u64::try_from(value).unwrap_or(0)).min(most);
        *floor
    };
    let mut reported = REPORTED.lock().unwrap_or_else(PoisonError::into_inner);
    let frees = at_least(&mut reported.frees, frees, mallocs);
    for (class, entry) in by_size.iter_mut().enumerate() {
        entry.frees = at_least(
            &mut reported.class_frees[class],
            class_frees[class],
            entry.mallocs,
        );
    }
    // `TotalAlloc` is at least `HeapAlloc`, which counts cached regions too.
    let total_bytes = at_least(
        &mut reported.total_bytes,
        i128::from(total_bytes.max(heap_alloc)),
        u64::MAX,
    );
    Some(Counts {
        total_bytes,
        mallocs,
        frees,
        live_objects: mallocs - frees,
        by_size,
    })
}

/// Go's class sizes, with no counts yet.
fn classes_with_zero_counts() -> [SizeClassStats; SIZE_CLASSES] {
    std::array::from_fn(|class| SizeClassStats {
        size: CLASS_SIZES[class],
        mallocs: 0,
        frees: 0,
    })
}

impl Var for MemStats {
    fn write(&self, out: Writer<'_>) {
        let figures = Figures::read();
        // Go's `runtime.MemStats` integer fields, in Go's declaration order, before the
        // pause rings. Totals are counters; sizes that go up and down are gauges (both
        // are JSON integers, as Go writes them).
        let head: [(&str, FieldKind, u64); 24] = [
            ("Alloc", Gauge, figures.heap_alloc),
            ("TotalAlloc", Counter, figures.counted(|a| a.total_bytes)),
            ("Sys", Gauge, figures.sys),
            ("Lookups", Counter, 0),
            ("Mallocs", Counter, figures.counted(|a| a.mallocs)),
            ("Frees", Counter, figures.counted(|a| a.frees)),
            ("HeapAlloc", Gauge, figures.heap_alloc),
            ("HeapSys", Gauge, figures.heap_sys),
            ("HeapIdle", Gauge, figures.heap_idle),
            ("HeapInuse", Gauge, figures.heap_inuse),
            ("HeapReleased", Gauge, figures.heap_released),
            ("HeapObjects", Gauge, figures.counted(|a| a.live_objects)),
            ("StackInuse", Gauge, 0),
            ("StackSys", Gauge, 0),
            ("MSpanInuse", Gauge, 0),
            ("MSpanSys", Gauge, 0),
            ("MCacheInuse", Gauge, 0),
            ("MCacheSys", Gauge, 0),
            ("BuckHashSys", Gauge, 0),
            ("GCSys", Gauge, 0),
            ("OtherSys", Gauge, figures.other_sys),
            ("NextGC", Gauge, 0),
            ("LastGC", Gauge, 0),
            ("PauseTotalNs", Counter, 0),
        ];
        out.object(|fields| {
            for (name, kind, value) in head {
                let field = match metric(name) {
                    Some((metric, None)) => fields.field(name).metric_name(metric),
                    Some((metric, Some(unit))) => fields.field(name).metric_name(metric).unit(unit),
                    None => fields.field(name).json_only(),
                };
                match kind {
                    Counter => field.counter(value),
                    Gauge => field.gauge(i64::try_from(value).unwrap_or(i64::MAX)),
                }
            }
            // Go's garbage-collector figures: no collector runs in a Rust process.
            fields.field("PauseNs").json_only().json(&ZERO_RING);
            fields.field("PauseEnd").json_only().json(&ZERO_RING);
            fields.field("NumGC").json_only().counter(0);
            fields.field("NumForcedGC").json_only().counter(0);
            fields.field("GCCPUFraction").json_only().float(0.0);
            fields.field("EnableGC").json_only().bool(false);
            fields.field("DebugGC").json_only().bool(false);
            let by_size = fields.field("BySize").json_only();
            match &figures.counts {
                Some(counts) => {
                    // Updated in place: numbers replace numbers, so no allocation.
                    let mut counted = COUNTED_BY_SIZE
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    update_by_size(&mut counted, &counts.by_size);
                    by_size.json(&counted);
                }
                None => by_size.json(&UNCOUNTED_BY_SIZE),
            }
        });
    }

    // Reads the process's own figures: no lock held long, no user code. Written in
    // place (on the rendering worker), not captured on a thread of its own.
    fn __may_block(&self) -> bool {
        false
    }
}

inventory::submit! {
    Entry::new("memstats", || &MemStats, file!(), line!())
}

/// The metric name and unit of a field at `/metrics`: Go's Prometheus client's name
/// (`go_memstats_*`) with `memstats_` for `go_memstats_`, so Go dashboards' queries
/// carry over. The other fields are Go's garbage-collector figures, zero in Rust, and
/// `Alloc`, the same as `HeapAlloc`, whose name `memstats_alloc_bytes` would collide
/// with the counter `memstats_alloc_bytes_total` in OpenMetrics: JSON only.
fn metric(field: &str) -> Option<(&'static str, Option<Unit>)> {
    let bytes = Some(Unit::Bytes);
    Some(match field {
        "TotalAlloc" => ("memstats_alloc_bytes_total", bytes),
        "Sys" => ("memstats_sys_bytes", bytes),
        "Mallocs" => ("memstats_mallocs_total", None),
        "Frees" => ("memstats_frees_total", None),
        "HeapAlloc" => ("memstats_heap_alloc_bytes", bytes),
        "HeapSys" => ("memstats_heap_sys_bytes", bytes),
        "HeapIdle" => ("memstats_heap_idle_bytes", bytes),
        "HeapInuse" => ("memstats_heap_inuse_bytes", bytes),
        "HeapReleased" => ("memstats_heap_released_bytes", bytes),
        "HeapObjects" => ("memstats_heap_objects", None),
        _ => return None,
    })
}

/// Go's GC pause rings, always zero here: built once, not on every read.
static ZERO_RING: Lazy<serde_json::Value> =
    Lazy::new(|| serde_json::Value::Array(vec![0.into(); PAUSE_RING_LEN]));

/// `BySize` without `CountingAlloc`: Go's class sizes with zero counts, built once.
static UNCOUNTED_BY_SIZE: Lazy<serde_json::Value> =
    Lazy::new(|| by_size_json(&classes_with_zero_counts()));

/// `BySize` with `CountingAlloc`: built once, its counts rewritten on each read.
static COUNTED_BY_SIZE: Lazy<Mutex<serde_json::Value>> =
    Lazy::new(|| Mutex::new(UNCOUNTED_BY_SIZE.clone()));

fn update_by_size(json: &mut serde_json::Value, classes: &[SizeClassStats]) {
    let Some(entries) = json.as_array_mut() else {
        return;
    };
    for (entry, class) in entries.iter_mut().zip(classes) {
        if let Some(entry) = entry.as_object_mut() {
            for (name, value) in [("Mallocs", class.mallocs), ("Frees", class.frees)] {
                if let Some(field) = entry.get_mut(name) {
                    *field = value.into();
                }
            }
        }
    }
}

fn by_size_json(classes: &[SizeClassStats]) -> serde_json::Value {
    classes
        .iter()
        .map(|class| {
            serde_json::json!({
                "Size": class.size,
                "Mallocs": class.mallocs,
                "Frees": class.frees,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_go_shape() {
        let json: serde_json::Value = serde_json::from_str(&crate::render_json(&MemStats)).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 32);
        assert_eq!(json["PauseNs"].as_array().unwrap().len(), 256);
        assert_eq!(json["PauseEnd"].as_array().unwrap().len(), 256);
        let by_size = json["BySize"].as_array().unwrap();
        assert_eq!(by_size.len(), 61);
        assert_eq!(by_size[1]["Size"], 8);
        assert_eq!(by_size[60]["Size"], 18432);
        assert_eq!(json["EnableGC"], false);
        if cfg!(target_os = "linux") {
            assert!(json["Sys"].as_u64().unwrap() > 0);
            assert!(json["HeapSys"].as_u64().unwrap() > 0);
        }
    }
}
