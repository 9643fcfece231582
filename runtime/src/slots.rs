//! Per-thread counter slots: the storage behind [`Counter`](crate::Counter).
//!
//! A counter that every thread bumps with `fetch_add` on one shared word makes the cores
//! fight over that cache line. Instead each counter gets a slot id, and each thread owns
//! a table of slots indexed by id. Only the owning thread writes its table, so a bump is
//! a plain load and store (no `lock` prefix) on a line no other core writes. Readers sum
//! one slot across all tables.
//!
//! Tables are allocated in chunks of [`CHUNK_LEN`] slots on a thread's first bump of a
//! counter in that chunk, so an idle counter costs no slot memory at all and a thread
//! pays 8 bytes per counter it has touched (rounded up to a chunk).
//!
//! Tables are never freed. When a thread exits it releases its table, counts included,
//! and the next new thread adopts it and carries on from those counts, so memory is
//! bounded by the most threads alive at once. The list of tables only grows, which lets
//! a reader sum a slot without any lock: nothing it reads is ever moved or freed, and no
//! count is ever moved from one table to another, so none is seen twice or missed.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard, PoisonError};

const CHUNK_BITS: u32 = 10;
/// Slots per chunk: 1024 slots of 8 bytes.
pub(crate) const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const MAX_CHUNKS: usize = 1024;
/// Slot ids available at once. A counter created beyond this (a million live counters)
/// falls back to a shared atomic, which is slower under contention but still exact.
pub(crate) const MAX_SLOTS: u32 = (CHUNK_LEN * MAX_CHUNKS) as u32;
/// Tables that can exist: the most threads counting at once. Threads beyond it count
/// through the counter's shared atomic.
const MAX_TABLES: usize = 4096;

#[repr(align(128))] // keep chunks of different threads off each other's cache lines
struct Chunk([AtomicU64; CHUNK_LEN]);

/// One thread's slots: chunk pointers indexed by `id >> CHUNK_BITS`.
struct Table {
    /// Whether a live thread writes this table.
    owned: AtomicBool,
    chunks: Box<[AtomicPtr<Chunk>]>,
}

impl Table {
    fn new() -> Self {
        Table {
            owned: AtomicBool::new(true),
            chunks: (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
        }
    }

    #[inline]
    fn slot(&self, id: u32) -> Option<&AtomicU64> {
        let chunk = self.chunks[(id >> CHUNK_BITS) as usize].load(Acquire);
        // SAFETY: a non-null chunk pointer is never freed (tables live for the process).
        unsafe { chunk.as_ref() }.map(|chunk| &chunk.0[id as usize & (CHUNK_LEN - 1)])
    }

    /// Called by the owning thread only, so no two threads allocate the same chunk.
    #[cold]
    fn slot_or_alloc(&self, id: u32) -> &AtomicU64 {
        let index = (id >> CHUNK_BITS) as usize;
        if self.chunks[index].load(Acquire).is_null() {
            let chunk = Box::into_raw(Box::new(Chunk([const { AtomicU64::new(0) }; CHUNK_LEN])));
            self.chunks[index].store(chunk, Release);
        }
        self.slot(id).expect("chunk was just allocated")
    }
}

/// Every table ever made, in order; the first `TABLE_COUNT` entries are set.
static TABLES: [AtomicPtr<Table>; MAX_TABLES] =
    [const { AtomicPtr::new(ptr::null_mut()) }; MAX_TABLES];
static TABLE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The tables made so far. Lock-free: entries are only ever appended, never freed.
fn tables() -> impl Iterator<Item = &'static Table> {
    TABLES[..TABLE_COUNT.load(Acquire)].iter().map(|table| {
        // SAFETY: set before `TABLE_COUNT` counted it (Release/Acquire), never freed.
        unsafe { &*table.load(Acquire) }
    })
}

/// Slot ids in use and free; only touched when a counter takes or gives back an id, or
/// a thread starts counting.
struct Ids {
    free: Vec<u32>,
    next: u32,
}

static IDS: Mutex<Ids> = Mutex::new(Ids {
    free: Vec::new(),
    next: 0,
});

fn ids() -> MutexGuard<'static, Ids> {
    // Nothing here panics while the lock is held, but never let poison stop counting.
    IDS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The current thread's table, claimed on first use and released on thread exit.
struct LocalTable(Cell<*const Table>);

impl Drop for LocalTable {
    fn drop(&mut self) {
        let table = self.0.replace(ptr::null());
        // SAFETY: tables are never freed.
        if let Some(table) = unsafe { table.as_ref() } {
            // Release: the next owner continues from every count this thread made.
            table.owned.store(false, Release);
        }
    }
}

thread_local! {
    static LOCAL: LocalTable = const { LocalTable(Cell::new(ptr::null())) };
}

/// Adopts a released table, or makes a new one; `None` when [`MAX_TABLES`] are owned.
#[cold]
fn claim_table(local: &LocalTable) -> Option<&'static Table> {
    let _appending = ids(); // one thread appends at a time
    let adopted = tables().find(|table| {
        table
            .owned
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
    });
    let table = match adopted {
        Some(table) => table,
        None => {
            let count = TABLE_COUNT.load(Relaxed);
            if count == MAX_TABLES {
                return None;
            }
            let table = Box::leak(Box::new(Table::new()));
            TABLES[count].store(table, Release);
            TABLE_COUNT.store(count + 1, Release);
            table
        }
    };
    local.0.set(table);
    Some(table)
}

/// Applies `update` to this thread's slot `id`. Returns `false` if the thread has no
/// table (it is being torn down, or too many threads count at once) and the caller must
/// count elsewhere.
#[inline]
fn with_own_slot(id: u32, update: impl FnOnce(&AtomicU64)) -> bool {
    LOCAL
        .try_with(|local| {
            // SAFETY: tables are never freed.
            let table = match unsafe { local.0.get().as_ref() } {
                Some(table) => table,
                None => match claim_table(local) {
                    Some(table) => table,
                    None => return false,
                },
            };
            let slot = match table.slot(id) {
                Some(slot) => slot,
                None => table.slot_or_alloc(id),
            };
            update(slot);
            true
        })
        .unwrap_or(false)
}

/// Adds `n` to this thread's slot `id` (see [`with_own_slot`]).
#[inline]
pub(crate) fn add(id: u32, n: u64) -> bool {
    // Only this thread writes this slot: a plain read-modify-write is exact.
    with_own_slot(id, |slot| {
        slot.store(slot.load(Relaxed).wrapping_add(n), Relaxed)
    })
}

/// Adds `value` to this thread's slot `id`, which holds the bits of an `f64`.
#[inline]
pub(crate) fn add_f64(id: u32, value: f64) -> bool {
    with_own_slot(id, |slot| {
        let sum = f64::from_bits(slot.load(Relaxed)) + value;
        slot.store(sum.to_bits(), Relaxed);
    })
}

/// The sum of slot `id` over every table. Takes no lock.
pub(crate) fn sum(id: u32) -> u64 {
    tables()
        .filter_map(|table| table.slot(id))
        .fold(0, |total, slot| total.wrapping_add(slot.load(Relaxed)))
}

/// The sum of slot `id` over every table, each holding the bits of an `f64`.
pub(crate) fn sum_f64(id: u32) -> f64 {
    tables()
        .filter_map(|table| table.slot(id))
        .map(|slot| f64::from_bits(slot.load(Relaxed)))
        .sum()
}

/// A variable's slot id, taken on first use and given back when the variable is dropped.
pub(crate) struct SlotId(AtomicU32);

/// No id yet: one is taken on first use.
const UNASSIGNED: u32 = 0;
/// No id could be had: the variable counts through its own shared atomic.
const EXHAUSTED: u32 = u32::MAX;

impl SlotId {
    pub(crate) const fn new() -> Self {
        SlotId(AtomicU32::new(UNASSIGNED))
    }

    /// The id, if one has been taken.
    #[inline]
    pub(crate) fn get(&self) -> Option<u32> {
        match self.0.load(Relaxed) {
            UNASSIGNED | EXHAUSTED => None,
            stored => Some(stored - 1),
        }
    }

    /// The id, taking one if none was taken yet; `None` when none is available.
    #[cold]
    pub(crate) fn get_or_assign(&self) -> Option<u32> {
        if self.0.load(Relaxed) == UNASSIGNED {
            let candidate = acquire_id().map_or(EXHAUSTED, |id| id + 1);
            // Racing threads agree on one winner; a loser gives its id back.
            if let Err(_winner) = self
                .0
                .compare_exchange(UNASSIGNED, candidate, Relaxed, Relaxed)
            {
                if candidate != EXHAUSTED {
                    release_id(candidate - 1);
                }
            }
        }
        self.get()
    }
}

impl Drop for SlotId {
    fn drop(&mut self) {
        if let Some(id) = self.get() {
            release_id(id);
        }
    }
}

/// Takes a free slot id, or `None` when all [`MAX_SLOTS`] are in use.
fn acquire_id() -> Option<u32> {
    let mut ids = ids();
    if let Some(id) = ids.free.pop() {
        return Some(id);
    }
    if ids.next < MAX_SLOTS {
        ids.next += 1;
        Some(ids.next - 1)
    } else {
        None
    }
}

/// Zeroes slot `id` everywhere and makes it available again. The counter that owned it
/// is gone, so no thread can be bumping it concurrently.
fn release_id(id: u32) {
    let mut ids = ids();
    for slot in tables().filter_map(|table| table.slot(id)) {
        slot.store(0, Relaxed);
    }
    ids.free.push(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exited_threads_keep_counting_and_tables_are_reused() {
        let id = acquire_id().unwrap();
        for _ in 0..3 {
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        for _ in 0..1000 {
                            assert!(add(id, 1));
                        }
                    });
                }
            });
        }
        assert_eq!(sum(id), 12_000);
        assert!(add(id, 5));
        assert_eq!(sum(id), 12_005);
        // Three rounds of four threads: exited threads' tables were adopted, not added.
        // (Other tests' threads count too, so this is a bound, not an exact figure.)
        assert!(
            TABLE_COUNT.load(Relaxed) < 12,
            "{}",
            TABLE_COUNT.load(Relaxed)
        );
        release_id(id);
        let again = acquire_id().unwrap();
        assert_eq!(sum(again), 0, "a reused id starts from zero");
        release_id(again);
    }
}
