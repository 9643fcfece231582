//! Heap sizes from the allocator's own statistics, read per scrape: nothing is added to
//! the allocation path.
//!
//! Sources, best first: jemalloc's `stats.*` (with the `jemalloc` feature, when jemalloc
//! is the global allocator), glibc's `mallinfo2()` (when glibc's malloc is), else the
//! resident set size, which is all the OS can tell. Whether an allocator is the global
//! one is checked once, by allocating through the global allocator and seeing whether
//! the allocator's figures move.

use once_cell::sync::OnceCell;

/// Where the heap sizes of `memstats` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SizeSource {
    /// jemalloc's `stats.allocated`, `active`, `resident`, `metadata` and `retained`.
    #[cfg_attr(not(feature = "jemalloc"), allow(dead_code))]
    Jemalloc,
    /// glibc's `mallinfo2()`: `uordblks`, `fordblks`, `hblkhd` and `arena`.
    #[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
    Glibc,
    /// No allocator statistics: the resident set size stands for the heap.
    Resident,
}

impl SizeSource {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SizeSource::Jemalloc => "jemalloc",
            SizeSource::Glibc => "glibc",
            SizeSource::Resident => "resident",
        }
    }
}

/// Heap sizes in Go's terms, in bytes. `HeapSys = inuse + idle` and `released <= idle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeapSizes {
    /// Bytes of allocated blocks (Go's `HeapAlloc`).
    pub(crate) allocated: u64,
    /// Bytes of pages or chunks holding allocated blocks (Go's `HeapInuse`).
    pub(crate) inuse: u64,
    /// Bytes the allocator holds unused (Go's `HeapIdle`).
    pub(crate) idle: u64,
    /// Of `idle`, bytes given back to the OS (Go's `HeapReleased`); 0 when unknown.
    pub(crate) released: u64,
    /// Bytes of the allocator's own bookkeeping (Go's `OtherSys`); 0 when unknown.
    pub(crate) metadata: u64,
    pub(crate) source: SizeSource,
}

/// The source in use: decided at the first read, then fixed.
pub(crate) fn source() -> SizeSource {
    static SOURCE: OnceCell<SizeSource> = OnceCell::new();
    *SOURCE.get_or_init(detect)
}

fn detect() -> SizeSource {
    #[cfg(feature = "jemalloc")]
    if jemalloc::is_global() {
        return SizeSource::Jemalloc;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if glibc::is_global() {
        return SizeSource::Glibc;
    }
    SizeSource::Resident
}

/// Reads the heap sizes from the source in use; `resident` is the fallback.
pub(crate) fn read(resident: u64) -> HeapSizes {
    let fallback = HeapSizes {
        allocated: resident,
        inuse: resident,
        idle: 0,
        released: 0,
        metadata: 0,
        source: SizeSource::Resident,
    };
    match source() {
        #[cfg(feature = "jemalloc")]
        SizeSource::Jemalloc => jemalloc::read().unwrap_or(fallback),
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        SizeSource::Glibc => glibc::read().unwrap_or(fallback),
        _ => fallback,
    }
}

/// Allocates `blocks` blocks of `size` bytes through the global allocator, calls
/// `measure`, and frees them: how detection sees whether an allocator is the global one.
#[cfg_attr(
    not(any(feature = "jemalloc", all(target_os = "linux", target_env = "gnu"))),
    allow(dead_code)
)]
fn while_holding<T>(blocks: usize, size: usize, measure: impl FnOnce() -> T) -> T {
    let held: Vec<Box<[u8]>> = (0..blocks)
        .map(|_| std::hint::black_box(vec![1u8; size].into_boxed_slice()))
        .collect();
    let measured = measure();
    drop(std::hint::black_box(held));
    measured
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use once_cell::sync::OnceCell;

    use super::{HeapSizes, SizeSource};

    type Mallinfo2 = unsafe extern "C" fn() -> libc::mallinfo2;

    /// `mallinfo2` is glibc 2.33+; looked up at run time so the program still loads on
    /// an older glibc (and then falls back to the resident set).
    fn mallinfo2() -> Option<Mallinfo2> {
        static FUNCTION: OnceCell<Option<Mallinfo2>> = OnceCell::new();
        *FUNCTION.get_or_init(|| {
            // SAFETY: a lookup by a NUL-terminated name in the already loaded objects.
            let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"mallinfo2".as_ptr()) };
            // SAFETY: glibc's `mallinfo2` has exactly this signature.
            (!symbol.is_null())
                .then(|| unsafe { std::mem::transmute::<*mut libc::c_void, Mallinfo2>(symbol) })
        })
    }

    fn info() -> Option<libc::mallinfo2> {
        // SAFETY: `mallinfo2` takes no argument and only reads malloc's state under its
        // arena locks.
        mallinfo2().map(|mallinfo2| unsafe { mallinfo2() })
    }

    fn in_use(info: &libc::mallinfo2) -> u64 {
        (info.uordblks + info.hblkhd) as u64
    }

    /// Whether glibc's malloc serves the global allocator: holding 1 MiB in small
    /// blocks must show in `mallinfo2`. Another thread freeing as much at that moment
    /// could hide it, so a few tries.
    pub(super) fn is_global() -> bool {
        const HELD: usize = 1 << 20;
        (0..3).any(|_| {
            let Some(before) = info() else { return false };
            let during = super::while_holding(HELD / 256, 256, info);
            during.is_some_and(|during| in_use(&during) >= in_use(&before) + HELD as u64 / 2)
        })
    }

    /// Walks malloc's free lists under each arena's lock: its cost grows with the free
    /// chunks, not with the allocations, and no allocation waits on it for long.
    pub(super) fn read() -> Option<HeapSizes> {
        let info = info()?;
        let inuse = in_use(&info);
        Some(HeapSizes {
            allocated: inuse,
            inuse,
            idle: info.fordblks as u64,
            // glibc does not say how much of its free memory it has given back.
            released: 0,
            metadata: 0,
            source: SizeSource::Glibc,
        })
    }
}

#[cfg(feature = "jemalloc")]
mod jemalloc {
    use tikv_jemalloc_ctl::thread;

    use super::{HeapSizes, SizeSource};
    use crate::stats::jemalloc::JemallocStats;

    /// Whether jemalloc serves the global allocator: this thread's jemalloc allocation
    /// total (exact, no other thread moves it) must grow by what is held.
    pub(super) fn is_global() -> bool {
        let Ok(allocated) = thread::allocatedp::read() else {
            return false;
        };
        let before = allocated.get();
        let during = super::while_holding(16, 4096, || allocated.get());
        during >= before + 16 * 4096
    }

    pub(super) fn read() -> Option<HeapSizes> {
        let stats = JemallocStats::read().ok()?;
        // Resident data pages not backing active allocations are dirty free pages.
        let dirty = stats
            .resident
            .saturating_sub(stats.metadata)
            .saturating_sub(stats.active);
        Some(HeapSizes {
            allocated: stats.allocated,
            inuse: stats.active,
            idle: dirty + stats.retained,
            released: stats.retained,
            metadata: stats.metadata,
            source: SizeSource::Jemalloc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_ordered() {
        let sizes = read(1 << 20);
        assert!(sizes.allocated <= sizes.inuse, "{sizes:?}");
        assert!(sizes.released <= sizes.idle, "{sizes:?}");
        if cfg!(all(
            target_os = "linux",
            target_env = "gnu",
            not(feature = "jemalloc")
        )) {
            // The unit tests run on the system allocator: glibc's malloc.
            assert_eq!(sizes.source, SizeSource::Glibc);
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_sees_a_held_block() {
        let before = glibc::read().unwrap();
        let during = while_holding(64, 16 << 10, || glibc::read().unwrap());
        // Other tests allocate meanwhile: a generous bound.
        assert!(during.allocated + (256 << 10) >= before.allocated + (1 << 20));
    }
}
