//! The `jemalloc` variable: jemalloc's own statistics, for programs whose global
//! allocator is `tikv_jemallocator::Jemalloc`. Behind the `jemalloc` feature.

use tikv_jemalloc_ctl::{epoch, stats};

use crate::vars::entry::Entry;
use crate::vars::{Var, Writer};

/// jemalloc's global statistics, in bytes (`stats.*` in jemalloc's `mallctl` API).
///
/// Meaningful when `tikv_jemallocator::Jemalloc` is the global allocator (alone or inside
/// [`CountingAlloc`](crate::CountingAlloc)); otherwise they describe only jemalloc's own
/// bookkeeping. Published as the `jemalloc` variable when the feature is on.
///
/// ```
/// let stats = expvar::stats::JemallocStats::read().unwrap();
/// assert!(stats.allocated <= stats.active);
/// assert!(stats.active <= stats.resident);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JemallocStats {
    /// Bytes allocated by the program.
    pub allocated: u64,
    /// Bytes in active pages: `allocated` plus fragmentation inside pages.
    pub active: u64,
    /// Bytes of jemalloc's own metadata.
    pub metadata: u64,
    /// Bytes in physically resident data pages mapped by jemalloc.
    pub resident: u64,
    /// Bytes in active extents mapped by jemalloc.
    pub mapped: u64,
    /// Bytes in virtual memory mappings retained rather than returned to the OS.
    pub retained: u64,
}

impl JemallocStats {
    /// Refreshes jemalloc's statistics (advances its epoch) and reads them.
    ///
    /// A handful of `mallctl` calls; nothing is paused.
    pub fn read() -> Result<JemallocStats, tikv_jemalloc_ctl::Error> {
        epoch::advance()?;
        Ok(JemallocStats {
            allocated: stats::allocated::read()? as u64,
            active: stats::active::read()? as u64,
            metadata: stats::metadata::read()? as u64,
            resident: stats::resident::read()? as u64,
            mapped: stats::mapped::read()? as u64,
            retained: stats::retained::read()? as u64,
        })
    }
}

/// The `jemalloc` variable.
pub(crate) struct Jemalloc;

impl Var for Jemalloc {
    fn write(&self, out: Writer<'_>) {
        let stats = match JemallocStats::read() {
            Ok(stats) => stats,
            Err(error) => return out.fail(&error),
        };
        let bytes = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        out.object(|fields| {
            let rows = [
                (
                    "allocated_bytes",
                    stats.allocated,
                    "Bytes allocated by the program.",
                ),
                ("active_bytes", stats.active, "Bytes in active pages."),
                (
                    "metadata_bytes",
                    stats.metadata,
                    "Bytes of jemalloc metadata.",
                ),
                ("resident_bytes", stats.resident, "Bytes in resident pages."),
                ("mapped_bytes", stats.mapped, "Bytes in active extents."),
                (
                    "retained_bytes",
                    stats.retained,
                    "Bytes retained, not returned to the OS.",
                ),
            ];
            for (name, value, help) in rows {
                fields.field_with_help(name, help).gauge(bytes(value));
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
    Entry::new("jemalloc", || &Jemalloc, file!(), line!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_jemalloc_allocations() {
        let before = JemallocStats::read().unwrap();
        // SAFETY: a plain allocation from jemalloc, freed below.
        let block = unsafe { tikv_jemalloc_sys::malloc(8 << 20) };
        assert!(!block.is_null());
        let during = JemallocStats::read().unwrap();
        assert!(during.allocated >= before.allocated + (8 << 20));
        assert!(during.allocated <= during.active && during.active <= during.mapped);
        // SAFETY: allocated above by jemalloc's malloc, freed once.
        unsafe { tikv_jemalloc_sys::free(block) };
        let json: serde_json::Value = serde_json::from_str(&crate::render_json(&Jemalloc)).unwrap();
        assert!(json["allocated_bytes"].as_u64().is_some(), "{json}");
        assert!(json["resident_bytes"].as_u64().unwrap() > 0);
    }
}
