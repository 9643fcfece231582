//! The `jemalloc` variable: jemalloc's own statistics, for programs whose global
//! allocator is `tikv_jemallocator::Jemalloc`. Behind the `jemalloc` feature.

use once_cell::sync::Lazy;
use tikv_jemalloc_ctl::{epoch, raw, stats};

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

/// One of jemalloc's size classes (a small bin or a large extent size), as of the last
/// epoch advance: what `memstats` makes Go's allocation counts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClassCounts {
    /// The class's size: what each allocation in it takes.
    pub(crate) size: u64,
    /// Allocation requests served from this class since the process started
    /// (`nrequests`): those served from a thread's cache are added when that cache
    /// next fills or flushes this class, so they lag by at most what one cache holds.
    pub(crate) requests: u64,
    /// Regions of this class out of the arenas now (`curregs`, `curlextents`): the live
    /// allocations, plus the free regions waiting in threads' caches.
    pub(crate) live: u64,
}

/// `stats.arenas.<i>` for every arena merged: `MALLCTL_ARENAS_ALL`.
const ARENAS_ALL: usize = 4096;

/// The management-information-base keys of one class: its size was read once; its counts
/// are read by key on each call, without building names (so without allocating).
struct ClassKeys {
    size: u64,
    requests: [usize; 6],
    live: [usize; 6],
    /// For a large class that threads cache (up to `arenas.tcache_max`): its `nmalloc`.
    /// Its merged `nrequests` is `nmalloc` plus the caches' requests, which count the
    /// cache misses (the `nmalloc`) too.
    counted_twice: Option<[usize; 6]>,
}

/// Every size class's keys, found once; `None` if this jemalloc keeps no statistics.
static CLASS_KEYS: Lazy<Option<Vec<ClassKeys>>> = Lazy::new(|| class_keys().ok());

fn class_keys() -> Result<Vec<ClassKeys>, tikv_jemalloc_ctl::Error> {
    let mut keys = Vec::new();
    // SAFETY: `arenas.tcache_max` is a `size_t`.
    let cached_max = unsafe { raw::read::<usize>(b"arenas.tcache_max\0")? } as u64;
    for (count, size, requests, live, nmalloc) in [
        (
            &b"arenas.nbins\0"[..],
            &b"arenas.bin.0.size\0"[..],
            &b"stats.arenas.0.bins.0.nrequests\0"[..],
            &b"stats.arenas.0.bins.0.curregs\0"[..],
            None,
        ),
        (
            b"arenas.nlextents\0",
            b"arenas.lextent.0.size\0",
            b"stats.arenas.0.lextents.0.nrequests\0",
            b"stats.arenas.0.lextents.0.curlextents\0",
            Some(&b"stats.arenas.0.lextents.0.nmalloc\0"[..]),
        ),
    ] {
        // SAFETY: `arenas.nbins` and `arenas.nlextents` are `unsigned`.
        let count = unsafe { raw::read::<u32>(count)? } as usize;
        let mut size_key = [0; 4];
        raw::name_to_mib(size, &mut size_key)?;
        let mut requests_key = [0; 6];
        raw::name_to_mib(requests, &mut requests_key)?;
        let mut live_key = [0; 6];
        raw::name_to_mib(live, &mut live_key)?;
        let nmalloc_key = match nmalloc {
            Some(name) => {
                let mut key = [0; 6];
                raw::name_to_mib(name, &mut key)?;
                Some(key)
            }
            None => None,
        };
        for class in 0..count {
            size_key[2] = class;
            // SAFETY: a class's size is a `size_t`.
            let size = unsafe { raw::read_mib::<usize>(&size_key)? } as u64;
            let at = |mut key: [usize; 6]| {
                key[2] = ARENAS_ALL;
                key[4] = class;
                key
            };
            keys.push(ClassKeys {
                size,
                requests: at(requests_key),
                live: at(live_key),
                counted_twice: nmalloc_key.filter(|_| size <= cached_max).map(at),
            });
        }
    }
    Ok(keys)
}

/// Calls `visit` with the counts of every size class, small and large, as of the last
/// epoch advance ([`JemallocStats::read`] advances it); `None` if jemalloc keeps no
/// such statistics. Allocates nothing after the first call.
pub(crate) fn for_each_class(mut visit: impl FnMut(ClassCounts)) -> Option<()> {
    for class in CLASS_KEYS.as_ref()? {
        // SAFETY: `nrequests` is a `uint64_t`; `curregs` and `curlextents` are `size_t`.
        let (mut requests, live) = unsafe {
            (
                raw::read_mib::<u64>(&class.requests).ok()?,
                raw::read_mib::<usize>(&class.live).ok()? as u64,
            )
        };
        if let Some(nmalloc) = &class.counted_twice {
            // SAFETY: `nmalloc` is a `uint64_t`.
            requests -= unsafe { raw::read_mib::<u64>(nmalloc).ok()? }.min(requests);
        }
        visit(ClassCounts {
            size: class.size,
            requests,
            live,
        });
    }
    Some(())
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
