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
//! When a thread exits, its values are folded into the `retired` table under the same
//! lock readers take, so a read never counts a thread twice or misses it.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};
use std::sync::{Mutex, MutexGuard, PoisonError};

const CHUNK_BITS: u32 = 10;
/// Slots per chunk: 1024 slots of 8 bytes.
pub(crate) const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const MAX_CHUNKS: usize = 1024;
/// Slot ids available at once. A counter created beyond this (a million live counters)
/// falls back to a shared atomic, which is slower under contention but still exact.
pub(crate) const MAX_SLOTS: u32 = (CHUNK_LEN * MAX_CHUNKS) as u32;

#[repr(align(128))] // keep chunks of different threads off each other's cache lines
struct Chunk([AtomicU64; CHUNK_LEN]);

/// One thread's slots (or the retired totals): chunk pointers indexed by `id >> CHUNK_BITS`.
struct Table {
    chunks: Box<[AtomicPtr<Chunk>]>,
}

impl Table {
    fn new() -> Self {
        Table {
            chunks: (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
        }
    }

    #[inline]
    fn slot(&self, id: u32) -> Option<&AtomicU64> {
        let chunk = self.chunks[(id >> CHUNK_BITS) as usize].load(Acquire);
        // SAFETY: a non-null chunk pointer stays valid until the table is dropped, and the
        // table outlives this borrow.
        unsafe { chunk.as_ref() }.map(|chunk| &chunk.0[id as usize & (CHUNK_LEN - 1)])
    }

    #[cold]
    fn slot_or_alloc(&self, id: u32) -> &AtomicU64 {
        let index = (id >> CHUNK_BITS) as usize;
        if self.chunks[index].load(Acquire).is_null() {
            let chunk = Box::into_raw(Box::new(Chunk([const { AtomicU64::new(0) }; CHUNK_LEN])));
            // Only the owner (or the holder of the registry lock, for `retired`) allocates.
            self.chunks[index].store(chunk, Release);
        }
        self.slot(id).expect("chunk was just allocated")
    }

    fn live_chunks(&self) -> impl Iterator<Item = (usize, &Chunk)> {
        self.chunks.iter().enumerate().filter_map(|(index, chunk)| {
            // SAFETY: as in `slot`.
            unsafe { chunk.load(Acquire).as_ref() }.map(|chunk| (index, chunk))
        })
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for chunk in self.chunks.iter() {
            let chunk = chunk.load(Acquire);
            if !chunk.is_null() {
                // SAFETY: allocated with `Box::into_raw` in `slot_or_alloc`, freed only here.
                drop(unsafe { Box::from_raw(chunk) });
            }
        }
    }
}

struct Registry {
    /// Tables of live threads. Boxed so their address is stable while registered.
    threads: Vec<*const Table>,
    /// Totals of threads that have exited.
    retired: Option<Table>,
    free_ids: Vec<u32>,
    next_id: u32,
}

// SAFETY: the raw table pointers are only dereferenced under the registry lock or by
// their owning thread, and a table is only freed after being removed under the lock.
unsafe impl Send for Registry {}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    threads: Vec::new(),
    retired: None,
    free_ids: Vec::new(),
    next_id: 0,
});

fn registry() -> MutexGuard<'static, Registry> {
    // Nothing here panics while the lock is held, but never let poison stop counting.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The current thread's table, registered on first use and retired on thread exit.
struct LocalTable(Cell<*const Table>);

impl Drop for LocalTable {
    fn drop(&mut self) {
        let table = self.0.replace(ptr::null());
        if table.is_null() {
            return;
        }
        let mut registry = registry();
        registry.threads.retain(|&registered| registered != table);
        // SAFETY: created by `Box::into_raw` in `register_thread`, removed from the
        // registry above, so no reader can reach it any more.
        let table = unsafe { Box::from_raw(table as *mut Table) };
        let retired = registry.retired.get_or_insert_with(Table::new);
        for (index, chunk) in table.live_chunks() {
            for (offset, slot) in chunk.0.iter().enumerate() {
                let value = slot.load(Relaxed);
                if value != 0 {
                    let id = (index * CHUNK_LEN + offset) as u32;
                    let total = retired.slot_or_alloc(id);
                    total.store(total.load(Relaxed).wrapping_add(value), Relaxed);
                }
            }
        }
    }
}

thread_local! {
    static LOCAL: LocalTable = const { LocalTable(Cell::new(ptr::null())) };
}

#[cold]
fn register_thread(local: &LocalTable) -> *const Table {
    let table = Box::into_raw(Box::new(Table::new())) as *const Table;
    registry().threads.push(table);
    local.0.set(table);
    table
}

/// Adds `n` to this thread's slot `id`. Returns `false` if the thread is being torn
/// down (its thread-locals are gone) and the caller must count elsewhere.
#[inline]
pub(crate) fn add(id: u32, n: u64) -> bool {
    LOCAL
        .try_with(|local| {
            let mut table = local.0.get();
            if table.is_null() {
                table = register_thread(local);
            }
            // SAFETY: this thread's table lives until its `LocalTable` is dropped.
            let table = unsafe { &*table };
            let slot = match table.slot(id) {
                Some(slot) => slot,
                None => table.slot_or_alloc(id),
            };
            // Only this thread writes this slot: a plain read-modify-write is exact.
            slot.store(slot.load(Relaxed).wrapping_add(n), Relaxed);
        })
        .is_ok()
}

/// The sum of slot `id` over all live and exited threads.
pub(crate) fn sum(id: u32) -> u64 {
    let registry = registry();
    let mut total = registry
        .retired
        .as_ref()
        .and_then(|table| table.slot(id))
        .map_or(0, |slot| slot.load(Relaxed));
    for &table in &registry.threads {
        // SAFETY: registered tables stay allocated while the lock is held.
        if let Some(slot) = unsafe { &*table }.slot(id) {
            total = total.wrapping_add(slot.load(Relaxed));
        }
    }
    total
}

/// Takes a free slot id, or `None` when all [`MAX_SLOTS`] are in use.
pub(crate) fn acquire_id() -> Option<u32> {
    let mut registry = registry();
    if let Some(id) = registry.free_ids.pop() {
        return Some(id);
    }
    if registry.next_id < MAX_SLOTS {
        registry.next_id += 1;
        Some(registry.next_id - 1)
    } else {
        None
    }
}

/// Zeroes slot `id` everywhere and makes it available again. The counter that owned it
/// is gone, so no thread can be bumping it concurrently.
pub(crate) fn release_id(id: u32) {
    let mut registry = registry();
    let tables = registry.threads.iter().map(|&table| {
        // SAFETY: as in `sum`.
        unsafe { &*table }
    });
    for slot in tables
        .chain(registry.retired.as_ref())
        .filter_map(|table| table.slot(id))
    {
        slot.store(0, Relaxed);
    }
    registry.free_ids.push(id);
}

/// The number of threads that currently own a slot table, for tests and diagnostics.
#[cfg(test)]
pub(crate) fn live_threads() -> usize {
    registry().threads.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exited_threads_are_folded_into_retired() {
        let id = acquire_id().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        assert!(add(id, 1));
                    }
                });
            }
        });
        assert_eq!(sum(id), 4000);
        assert!(add(id, 5));
        assert_eq!(sum(id), 4005);
        release_id(id);
        let again = acquire_id().unwrap();
        assert_eq!(sum(again), 0, "a reused id starts from zero");
        release_id(again);
        assert!(live_threads() >= 1);
    }
}
