//! [`CountingAlloc`]: a global allocator wrapper that counts what the program allocates,
//! the Rust source of `memstats`' `Alloc`, `TotalAlloc`, `Mallocs`, `Frees` and `BySize`.
//!
//! The allocation path is the hottest path in a program, so counting must cost next to
//! nothing: no lock, no allocation, no atomic read-modify-write. Counts go to a fixed
//! pool of cache-line-aligned shards. A thread claims a shard on its first allocation and
//! is its only writer from then on, so an update is a plain add to memory on a line no
//! other core writes; readers sum the shards. An allocation of up to [`EXACT_MAX`] bytes
//! (most of them) updates one counter, the one of its exact size: its bytes and its size
//! class are worked out when the counts are read, so the hot path has no class lookup
//! and no byte count. Larger ones count by size class, with their bytes. The counters
//! of one size's mallocs and frees share a cache line. A thread finds its shard
//! through a const-initialised thread-local pointer without a destructor, which costs
//! one thread-pointer-relative load, no registration check, and never allocates. A
//! second thread-local with a destructor hands the shard back when the thread exits; it
//! is registered on the cold claim path *after* the pointer is set, so an allocation
//! made while registering it (some platforms allocate there) just counts into the
//! already-claimed shard.
//!
//! Shards keep their counts when released: the next thread to claim one continues from
//! its totals, so totals never go down. Threads beyond the pool, and allocations made
//! while a thread is being torn down, count into one shared shard with atomic adds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};

/// Entries in Go's `MemStats.BySize`.
pub(crate) const SIZE_CLASSES: usize = 61;

/// Object sizes of Go's first 61 size classes (Go's `class_to_size`, which `MemStats.BySize`
/// reports). Class 0 is unused: Rust never allocates zero bytes through an allocator.
pub(crate) const CLASS_SIZES: [u32; SIZE_CLASSES] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432,
];

/// The bucket of allocations larger than the largest class (Go leaves them out of `BySize`).
const LARGE: usize = SIZE_CLASSES;
const BUCKETS: usize = SIZE_CLASSES + 1;
const SMALL_MAX: usize = 1024;
const LARGEST_CLASS: usize = CLASS_SIZES[SIZE_CLASSES - 1] as usize;

/// Class of sizes up to 1024 bytes by `(size + 7) / 8`, as Go's `size_to_class8`.
static CLASS_BY_8: [u8; SMALL_MAX / 8 + 1] = class_table::<{ SMALL_MAX / 8 + 1 }>(8, 0);
/// Class of sizes up to the largest class by `(size - 1024 + 127) / 128`, as Go's
/// `size_to_class128`.
static CLASS_BY_128: [u8; (LARGEST_CLASS - SMALL_MAX) / 128 + 1] =
    class_table::<{ (LARGEST_CLASS - SMALL_MAX) / 128 + 1 }>(128, SMALL_MAX);

/// `table[i]` is the smallest class whose size holds `base + i * step` bytes.
const fn class_table<const N: usize>(step: usize, base: usize) -> [u8; N] {
    let mut table = [0u8; N];
    let mut index = 0;
    let mut class = 1;
    while index < N {
        let size = base + index * step;
        while (CLASS_SIZES[class] as usize) < size {
            class += 1;
        }
        table[index] = class as u8;
        index += 1;
    }
    table
}

#[inline]
pub(crate) fn bucket(size: usize) -> usize {
    if size <= SMALL_MAX {
        CLASS_BY_8[(size + 7) >> 3] as usize
    } else if size <= LARGEST_CLASS {
        CLASS_BY_128[(size - SMALL_MAX + 127) >> 7] as usize
    } else {
        LARGE
    }
}

/// Shards that threads can own at once; more threads share [`Table::shared`].
const SHARDS: usize = 64;

/// Allocations up to this size are counted by exact size, one counter per call. Go's
/// classes up to here are multiples of 8 bytes, and Rust programs allocate most often
/// below it; a loop of 8 to 1,000-byte blocks counted by class above 512 bytes paid a
/// mispredicted branch on half its calls.
const EXACT_MAX: usize = 1024;

/// Index of a malloc's and of a free's count in [`Shard::exact`].
const MALLOCS: usize = 0;
const FREES: usize = 1;

/// One size class's counts in one shard, for allocations above [`EXACT_MAX`]. An
/// allocation updates one of these and nothing else: its two words share a cache line.
#[repr(align(32))]
struct Bucket {
    mallocs: AtomicU64,
    bytes_allocated: AtomicU64,
    frees: AtomicU64,
    bytes_freed: AtomicU64,
}

impl Bucket {
    const fn new() -> Self {
        Bucket {
            mallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
        }
    }
}

/// One writer's counts. Aligned so two shards never share a cache line.
#[repr(align(128))]
struct Shard {
    /// Mallocs and frees of each size up to [`EXACT_MAX`], by size.
    exact: [[AtomicU64; 2]; EXACT_MAX + 1],
    /// Larger allocations, by size class.
    buckets: [Bucket; BUCKETS],
    owned: AtomicBool,
    /// Claimed at least once: readers skip shards no thread has counted into.
    used: AtomicBool,
}

impl Shard {
    const fn new() -> Self {
        Shard {
            exact: [const { [AtomicU64::new(0), AtomicU64::new(0)] }; EXACT_MAX + 1],
            buckets: [const { Bucket::new() }; BUCKETS],
            owned: AtomicBool::new(false),
            used: AtomicBool::new(false),
        }
    }
}

// The size `CountingAlloc`'s documentation states.
const _: () = assert!(std::mem::size_of::<Shard>() == 18 << 10);

/// Adds `n` to a counter only the current thread writes: no `lock` prefix (compiled to
/// a plain add to memory).
#[inline]
fn bump_owned(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

struct Table {
    shards: [Shard; SHARDS],
    /// Counts of threads without a shard of their own, added atomically.
    shared: Shard,
    /// Set once any `CountingAlloc` has counted an allocation.
    installed: AtomicBool,
}

/// One table for the process: there is one global allocator, and the thread-local shard
/// index cannot be per instance.
static TABLE: Table = Table {
    shards: [const { Shard::new() }; SHARDS],
    shared: Shard::new(),
    installed: AtomicBool::new(false),
};

/// The current thread's shard index, or one of the markers below.
const UNCLAIMED: usize = usize::MAX;
const SHARED: usize = usize::MAX - 1;

thread_local! {
    // The hot path reads only this: the thread's own shard, null until claimed (and for
    // threads that share). No destructor, so reading it registers nothing, costs one
    // thread-pointer-relative load and works during thread exit.
    static OWN_SHARD: Cell<*const Shard> = const { Cell::new(std::ptr::null()) };
    // The shard's index or a marker: read on the cold path only.
    static SHARD: Cell<usize> = const { Cell::new(UNCLAIMED) };
    // Hands the shard back when the thread exits. Touched only on the claim path.
    static RELEASE: ReleaseOnExit = const { ReleaseOnExit };
}

struct ReleaseOnExit;

impl Drop for ReleaseOnExit {
    fn drop(&mut self) {
        // Allocations made from here on count in the shared shard.
        OWN_SHARD.with(|own| own.set(std::ptr::null()));
        let index = SHARD.with(|shard| shard.replace(SHARED));
        if index < SHARDS {
            // Release: the next owner sees every count this thread made.
            TABLE.shards[index].owned.store(false, Release);
        }
    }
}

fn claim() -> usize {
    TABLE.installed.store(true, Relaxed);
    TABLE.shared.used.store(true, Relaxed);
    let free = TABLE.shards.iter().position(|shard| {
        !shard.owned.load(Relaxed)
            && shard
                .owned
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
    });
    let Some(index) = free else {
        SHARD.with(|shard| shard.set(SHARED));
        return SHARED;
    };
    TABLE.shards[index].used.store(true, Relaxed);
    SHARD.with(|shard| shard.set(index));
    OWN_SHARD.with(|own| own.set(&TABLE.shards[index]));
    // Registers the release destructor. Any allocation this makes finds the shard set.
    if RELEASE.try_with(|_| ()).is_err() {
        // The thread is already exiting: no destructor would run, so give the shard back.
        OWN_SHARD.with(|own| own.set(std::ptr::null()));
        SHARD.with(|shard| shard.set(SHARED));
        TABLE.shards[index].owned.store(false, Release);
        return SHARED;
    }
    index
}

#[inline(always)]
fn record(size: usize, freed: bool) {
    let own = OWN_SHARD.with(Cell::get);
    // SAFETY: non-null only while it points into the static `TABLE`.
    match unsafe { own.as_ref() } {
        Some(shard) if size <= EXACT_MAX => {
            bump_owned(&shard.exact[size][usize::from(freed)], 1);
        }
        Some(shard) => record_by_class(shard, size, freed),
        None => record_unowned(size, freed),
    }
}

/// An allocation above [`EXACT_MAX`] in the thread's own shard: rarer, and costlier
/// for the allocator itself.
#[inline]
fn record_by_class(shard: &Shard, size: usize, freed: bool) {
    let bucket = &shard.buckets[bucket(size)];
    if freed {
        bump_owned(&bucket.frees, 1);
        bump_owned(&bucket.bytes_freed, size as u64);
    } else {
        bump_owned(&bucket.mallocs, 1);
        bump_owned(&bucket.bytes_allocated, size as u64);
    }
}

/// A thread's first allocation, or one of a thread without a shard of its own.
#[cold]
#[inline(never)]
fn record_unowned(size: usize, freed: bool) {
    let mut index = SHARD.with(Cell::get);
    if index == UNCLAIMED {
        index = claim();
    }
    if let Some(shard) = TABLE.shards.get(index) {
        return match size {
            0..=EXACT_MAX => bump_owned(&shard.exact[size][usize::from(freed)], 1),
            _ => record_by_class(shard, size, freed),
        };
    }
    if size <= EXACT_MAX {
        TABLE.shared.exact[size][usize::from(freed)].fetch_add(1, Relaxed);
        return;
    }
    let bucket = &TABLE.shared.buckets[bucket(size)];
    if freed {
        bucket.frees.fetch_add(1, Relaxed);
        bucket.bytes_freed.fetch_add(size as u64, Relaxed);
    } else {
        bucket.mallocs.fetch_add(1, Relaxed);
        bucket.bytes_allocated.fetch_add(size as u64, Relaxed);
    }
}

/// A [`GlobalAlloc`] that counts allocations and passes them to an inner allocator
/// ([`System`] by default), so `memstats` can report live and total heap bytes, object
/// counts and Go's per-size-class table.
///
/// Install it as the global allocator; [`AllocStats::read`] and `memstats` then report
/// real values.
///
/// ```
/// use expvar::{CountingAlloc, stats::AllocStats};
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::new();
///
/// let before = AllocStats::read().unwrap();
/// let buffer = vec![0u8; 4096];
/// let after = AllocStats::read().unwrap();
/// assert!(after.total_bytes >= before.total_bytes + 4096);
/// drop(buffer);
/// ```
///
/// Wrapping another allocator:
///
/// ```
/// use std::alloc::System;
/// use expvar::CountingAlloc;
///
/// // Any `GlobalAlloc`, such as `tikv_jemallocator::Jemalloc`.
/// static ALLOC: CountingAlloc<System> = CountingAlloc::with(System);
/// ```
///
/// # Cost
/// Per allocation and per free of up to 1,024 bytes: one thread-local load (the shard's
/// address), a compare, and a plain add to one counter (of that exact size) that only
/// the current thread writes. Larger ones add a size class lookup and a second add. No
/// locks, no atomic read-modify-write, no allocation. 64 threads can own a shard at
/// once; further threads share one shard with atomic adds (still exact, slower under
/// contention). The counts live in one table of 65 shards of 18 KiB (1.2 MB of zeroed
/// static memory, resident only in the pages a thread's sizes touch) shared by every
/// `CountingAlloc` in the process.
///
/// # What is counted
/// Each successful `alloc` and `alloc_zeroed` is one malloc of `layout.size()` bytes; each
/// `dealloc` one free. A `realloc` counts as a free of the old size and a malloc of the
/// new one (what it does to live memory). Sizes are the requested ones, not what the
/// inner allocator rounds them up to.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc<A = System> {
    inner: A,
}

impl CountingAlloc<System> {
    /// Counts allocations made through [`System`].
    pub const fn new() -> Self {
        CountingAlloc { inner: System }
    }
}

impl<A> CountingAlloc<A> {
    /// Counts allocations made through `inner`.
    pub const fn with(inner: A) -> Self {
        CountingAlloc { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; counting has no effect on the
// memory returned, does not allocate and does not unwind.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            record(layout.size(), false);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(layout.size(), false);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        record(layout.size(), true);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record(layout.size(), true);
            record(new_size, false);
        }
        new
    }
}

/// Whether a [`CountingAlloc`] is the global allocator (and has counted an allocation).
pub(crate) fn is_installed() -> bool {
    TABLE.installed.load(Relaxed)
}

/// Counts of one size class (Go's `MemStats.BySize` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeClassStats {
    /// The largest allocation, in bytes, counted in this class.
    pub size: u32,
    /// Allocations counted in this class.
    pub mallocs: u64,
    /// Frees counted in this class.
    pub frees: u64,
}

/// What [`CountingAlloc`] has counted so far, summed over every thread.
///
/// Totals (`total_bytes`, `mallocs`, `frees`, the per-class counts) never decrease from
/// one read to the next; `live_bytes` and `live_objects` go up and down with the program.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocStats {
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// Bytes allocated since the program started, freed or not.
    pub total_bytes: u64,
    /// Bytes freed since the program started.
    pub freed_bytes: u64,
    /// Allocations since the program started.
    pub mallocs: u64,
    /// Frees since the program started.
    pub frees: u64,
    /// Allocations not yet freed: `mallocs - frees`.
    pub live_objects: u64,
    /// Counts per size class, with Go's class sizes. An allocation of `n` bytes is in the
    /// first class whose `size` is at least `n`; allocations above the last class size
    /// (18,432 bytes) are only in the totals, as in Go.
    pub by_size: [SizeClassStats; SIZE_CLASSES],
}

impl AllocStats {
    /// The counts so far, or `None` when no [`CountingAlloc`] is the global allocator (or
    /// it has not allocated yet).
    ///
    /// Reading sums a fixed table with plain loads (about 2,300, or a microsecond, per
    /// shard a thread has counted into): it takes no lock, allocates nothing and
    /// never pauses other threads, so it can be called at any rate. Counts made by
    /// other threads a moment ago may not be visible yet.
    pub fn read() -> Option<AllocStats> {
        if !is_installed() {
            return None;
        }
        let mut by_size = [SizeClassStats::default(); SIZE_CLASSES];
        for (class, stats) in by_size.iter_mut().enumerate() {
            stats.size = CLASS_SIZES[class];
        }
        let (mut mallocs, mut frees, mut total_bytes, mut freed_bytes) = (0u64, 0u64, 0u64, 0u64);
        let used = TABLE.shards.iter().chain([&TABLE.shared]);
        for shard in used.filter(|shard| shard.used.load(Relaxed)) {
            for (size, counts) in shard.exact.iter().enumerate().skip(1) {
                let size_mallocs = counts[MALLOCS].load(Relaxed);
                let size_frees = counts[FREES].load(Relaxed);
                total_bytes = total_bytes.wrapping_add(size_mallocs.wrapping_mul(size as u64));
                freed_bytes = freed_bytes.wrapping_add(size_frees.wrapping_mul(size as u64));
                mallocs = mallocs.wrapping_add(size_mallocs);
                frees = frees.wrapping_add(size_frees);
                let stats = &mut by_size[bucket(size)];
                stats.mallocs = stats.mallocs.wrapping_add(size_mallocs);
                stats.frees = stats.frees.wrapping_add(size_frees);
            }
            for (index, bucket) in shard.buckets.iter().enumerate() {
                freed_bytes = freed_bytes.wrapping_add(bucket.bytes_freed.load(Relaxed));
                total_bytes = total_bytes.wrapping_add(bucket.bytes_allocated.load(Relaxed));
                let bucket_frees = bucket.frees.load(Relaxed);
                let bucket_mallocs = bucket.mallocs.load(Relaxed);
                frees = frees.wrapping_add(bucket_frees);
                mallocs = mallocs.wrapping_add(bucket_mallocs);
                if let Some(stats) = by_size.get_mut(index) {
                    stats.frees += bucket_frees;
                    stats.mallocs += bucket_mallocs;
                }
            }
        }
        Some(AllocStats {
            // A block allocated on one thread and freed on another can be seen freed
            // before it is seen allocated; live figures never go below zero for it.
            live_bytes: total_bytes.saturating_sub(freed_bytes),
            total_bytes,
            freed_bytes,
            mallocs,
            frees,
            live_objects: mallocs.saturating_sub(frees),
            by_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_the_smallest_that_fit() {
        for size in 1..=LARGEST_CLASS {
            let class = bucket(size);
            assert!(CLASS_SIZES[class] as usize >= size, "size {size}");
            assert!((CLASS_SIZES[class - 1] as usize) < size, "size {size}");
        }
        assert_eq!(bucket(LARGEST_CLASS + 1), LARGE);
        assert_eq!(bucket(1), 1);
        assert_eq!(bucket(8), 1);
        assert_eq!(bucket(9), 2);
        assert_eq!(bucket(1025), 33);
    }
}
