//! Per-thread counter slots: the storage behind [`Counter`](crate::Counter) and a
//! [`Histogram`](crate::Histogram)'s sum.
//!
//! A counter that every thread bumps with `fetch_add` on one shared word makes the cores
//! fight over that cache line. Instead each counter gets a slot id, and each live thread
//! owns a table of slots indexed by id. Only the owning thread writes its table, so a
//! bump is a plain load and store (no `lock` prefix) on a line no other core writes.
//!
//! A table is a directory of chunks of [`CHUNK_LEN`] slots. A chunk is allocated on the
//! thread's first bump of a counter in it, and the directory grows to the highest chunk
//! the thread has touched, so an idle counter costs no slot memory at all and a thread
//! that counts a few counters costs about a kilobyte. Thread bursts are why this stays
//! small: glibc keeps what exited threads freed in its arenas, so every byte a short-lived
//! thread allocates can stay resident after it is gone.
//!
//! Chunks and directories come from the table's own store (`store.rs`): on Unix, blocks
//! mapped from the OS and unmapped when the table is freed, so what a burst of
//! short-lived threads counted does not stay resident in malloc's caches after them.
//!
//! When a thread exits, its table is retired: under the write lock its counts are added
//! to the shared `retired` counts and the table is freed. A read takes the read lock and
//! sums the retired count and one slot per live table, so it costs one lock and as many
//! slots as threads alive now, however many threads came and went, and it sees each
//! count exactly once: a count moves from a table to `retired` while no reader looks.
//!
//! The directory is replaced (grown) only by its owner, under the write lock; other
//! threads read it only under the read lock, and the owner's own reads race with no
//! write. Chunk pointers in it are stored by the owner with `Release` and loaded with
//! `Acquire`, so a reader that sees a chunk sees it zeroed.
//!
//! Ordering on id reuse: [`Slots::release_id`] zeroes the slot in every live table with
//! a `Relaxed` store under the write lock. The owner of a table later bumps that slot
//! without the lock, so it must not read the value from before the zeroing. It learns
//! the new counter's id from [`SlotIdIn::get`], an `Acquire` load of the id that
//! [`SlotIdIn::get_or_assign`] published with `Release` after taking it under the lock:
//! zeroing, unlock, lock, publish, load is a happens-before chain. The loom model in
//! `model.rs` checks this (`RUSTFLAGS="--cfg expvar_loom"`).
//!
//! A value that may move to another thread before its last add (an `async` call's
//! guard) keeps a [`PinnedSlot`]: the slot and the serial of its table, which is unique
//! for the life of the process, so it adds there only on the thread that owns the slot,
//! even after that thread exited and a new table took the old one's address.
//!
//! One file of about 900 lines: the tables, the lock and the thread-local protocol are
//! one unit that the loom model checks together, and about 150 lines are tests.

#[cfg(all(test, expvar_loom))]
mod model;
mod store;
mod stripe;

pub(crate) use stripe::stripes;

use std::cell::{Cell, UnsafeCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{self, *};
use std::sync::PoisonError;

pub(crate) use store::CHUNK_LEN;
use store::{Chunk, Directory, Store, CHUNK_BITS};

#[cfg(all(test, expvar_loom))]
use loom::sync::{atomic::AtomicU64, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(not(all(test, expvar_loom)))]
use std::sync::{atomic::AtomicU64, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(not(all(test, expvar_loom)))]
const MAX_CHUNKS: usize = 1 << 14;
#[cfg(all(test, expvar_loom))]
const MAX_CHUNKS: usize = 2;
/// Chunks in a thread's first directory: enough for the first 256 counters.
#[cfg(not(all(test, expvar_loom)))]
const MIN_DIRECTORY: usize = 4;
/// One, so that the model sees a directory grow.
#[cfg(all(test, expvar_loom))]
const MIN_DIRECTORY: usize = 1;
/// Slot ids available at once. A counter created beyond this (a million live counters)
/// falls back to a shared atomic, which is slower under contention but still exact.
pub(crate) const MAX_SLOTS: u32 = (CHUNK_LEN * MAX_CHUNKS) as u32;

/// One slot: std's atomic, or loom's in the model.
pub(crate) type Slot = AtomicU64;

/// One thread's slots.
struct Table {
    /// Replaced only by the owning thread holding the write lock (see the module docs).
    directory: UnsafeCell<Directory>,
    /// Unique to this table among every table the process ever claimed; 0 for the
    /// static ones. Tells a [`PinnedSlot`] whether it is on its own thread.
    serial: u64,
    /// Where the chunks and directories are allocated; used by the owner only.
    store: Store,
    /// The owner's [stripe](stripe): given round robin at the claim; 0 for the static
    /// tables.
    stripe: usize,
}

// SAFETY: the directory is only replaced under the write lock by its owner, read by
// others under the read lock; the chunks are atomics; the store is used by the owner,
// and by whoever frees the table once no one else can reach it.
unsafe impl Sync for Table {}
// SAFETY: as above.
unsafe impl Send for Table {}

/// What a thread that has not counted yet points at: no slots, so its first bump takes
/// the cold path and claims a table.
static UNCLAIMED: Table = Table::empty();
/// What a thread whose table was retired points at: its late bumps (from other
/// thread-local destructors) go to the counter's shared atomic.
static EXITED: Table = Table::empty();

impl Table {
    /// A static table: no chunks, ever.
    const fn empty() -> Table {
        Table::new(0, 0)
    }

    /// A table with no chunks yet.
    const fn new(serial: u64, stripe: usize) -> Table {
        Table {
            directory: UnsafeCell::new(Directory::EMPTY),
            serial,
            store: Store::new(),
            stripe,
        }
    }

    #[inline]
    fn directory(&self) -> Directory {
        // SAFETY: see the `Sync` impl: no write races with this read.
        unsafe { *self.directory.get() }
    }

    #[inline]
    fn slot(&self, id: u32) -> Option<&AtomicU64> {
        let chunk = self
            .directory()
            .as_slice()
            .get((id >> CHUNK_BITS) as usize)?
            .load(Acquire);
        // SAFETY: a non-null chunk pointer stays valid until the table is dropped.
        unsafe { chunk.as_ref() }.map(|chunk| &chunk.0[id as usize & (CHUNK_LEN - 1)])
    }

    /// Called by the owning thread only, so no two threads change the same table.
    #[cold]
    fn slot_or_alloc(&self, id: u32) -> &AtomicU64 {
        let index = (id >> CHUNK_BITS) as usize;
        if self.directory().len <= index {
            SLOTS.grow(self, index + 1);
        }
        let entry = &self.directory().as_slice()[index];
        if entry.load(Acquire).is_null() {
            entry.store(self.store.new_chunk(), Release);
        }
        self.slot(id).expect("chunk was just allocated")
    }

    /// The allocated chunks with the first slot id of each.
    fn allocated(&self) -> impl Iterator<Item = (u32, &Chunk)> {
        self.directory()
            .as_slice()
            .iter()
            .enumerate()
            .filter_map(|(index, chunk)| {
                // SAFETY: as in `slot`.
                unsafe { chunk.load(Acquire).as_ref() }
                    .map(|chunk| ((index << CHUNK_BITS) as u32, chunk))
            })
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let directory = self.directory();
        let chunks = directory
            .as_slice()
            .iter()
            .map(|chunk| chunk.load(Acquire))
            .filter(|chunk| !chunk.is_null());
        // SAFETY: allocated by `slot_or_alloc`; the table is no longer shared.
        unsafe { self.store.free(chunks) };
        self.store.free_directory(directory);
    }
}

/// A live thread's table. Freed by [`Slots::retire`] once no reader can see it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TablePtr(NonNull<Table>);

// SAFETY: a `Table` is `Sync`; who may free it is governed by the `Slots` lock.
unsafe impl Send for TablePtr {}
// SAFETY: as above.
unsafe impl Sync for TablePtr {}

impl TablePtr {
    /// # Safety
    /// The table must not have been retired.
    unsafe fn get<'a>(self) -> &'a Table {
        // SAFETY: the caller guarantees the table is alive.
        unsafe { self.0.as_ref() }
    }
}

/// What a slot holds, so that retiring a table adds it to the retired count the right way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SlotKind {
    /// A `u64` count, added with wrapping.
    Count,
    /// The bits of an `f64` sum.
    Sum,
}

struct State {
    /// The tables of live threads.
    live: Vec<TablePtr>,
    /// Counts of retired tables, by slot id, in chunks allocated when first needed.
    retired: Vec<Option<Box<[u64; CHUNK_LEN]>>>,
    free_ids: Vec<u32>,
    next_id: u32,
    /// One bit per slot id: set for [`SlotKind::Sum`].
    sum_ids: Vec<u64>,
}

impl State {
    fn retired(&self, id: u32) -> u64 {
        match self.retired.get((id >> CHUNK_BITS) as usize) {
            Some(Some(chunk)) => chunk[id as usize & (CHUNK_LEN - 1)],
            _ => 0,
        }
    }

    fn retired_mut(&mut self, id: u32) -> &mut u64 {
        let index = (id >> CHUNK_BITS) as usize;
        if self.retired.len() <= index {
            self.retired.resize_with(index + 1, || None);
        }
        let chunk = self.retired[index].get_or_insert_with(|| Box::new([0; CHUNK_LEN]));
        &mut chunk[id as usize & (CHUNK_LEN - 1)]
    }

    fn kind(&self, id: u32) -> SlotKind {
        let word = self.sum_ids.get(id as usize / 64).copied().unwrap_or(0);
        if word >> (id % 64) & 1 == 1 {
            SlotKind::Sum
        } else {
            SlotKind::Count
        }
    }

    fn set_kind(&mut self, id: u32, kind: SlotKind) {
        let index = id as usize / 64;
        if self.sum_ids.len() <= index {
            self.sum_ids.resize(index + 1, 0);
        }
        let bit = 1 << (id % 64);
        match kind {
            SlotKind::Sum => self.sum_ids[index] |= bit,
            SlotKind::Count => self.sum_ids[index] &= !bit,
        }
    }

    fn fold(&mut self, id: u32, value: u64) {
        let kind = self.kind(id);
        let retired = self.retired_mut(id);
        *retired = match kind {
            SlotKind::Count => retired.wrapping_add(value),
            SlotKind::Sum => (f64::from_bits(*retired) + f64::from_bits(value)).to_bits(),
        };
    }
}

/// Every table, the retired counts and the slot ids. The write lock is taken when a
/// thread starts or stops counting and when a counter takes or gives back an id; the
/// read lock for each read of a count.
pub(crate) struct Slots {
    state: RwLock<State>,
}

const EMPTY_STATE: State = State {
    live: Vec::new(),
    retired: Vec::new(),
    free_ids: Vec::new(),
    next_id: 0,
    sum_ids: Vec::new(),
};

impl Slots {
    #[cfg(not(all(test, expvar_loom)))]
    const fn new() -> Self {
        Slots {
            state: RwLock::new(EMPTY_STATE),
        }
    }

    #[cfg(all(test, expvar_loom))]
    fn new() -> Self {
        Slots {
            state: RwLock::new(EMPTY_STATE),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Nothing panics while the lock is held, but never let poison stop counting.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new table for the calling thread, visible to readers from now on.
    fn claim(&self) -> TablePtr {
        static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let serial = SERIALS.fetch_add(1, Relaxed);
        let table = Table::new(serial, stripe::next_stripe());
        let table = TablePtr(NonNull::from(Box::leak(Box::new(table))));
        self.write().live.push(table);
        table
    }

    /// Replaces `table`'s directory by one of at least `len` chunks. Called by the
    /// table's owner; the write lock keeps readers off the old directory while it is
    /// copied and freed.
    fn grow(&self, table: &Table, len: usize) {
        let _state = self.write();
        let old = table.directory();
        let new = table
            .store
            .new_directory(len.next_power_of_two().clamp(MIN_DIRECTORY, MAX_CHUNKS));
        for (from, to) in old.as_slice().iter().zip(new.as_slice()) {
            to.store(from.load(Acquire), Release);
        }
        // SAFETY: the owner is the only writer, and no reader holds the lock.
        unsafe { *table.directory.get() = new };
        // Replaced above, and no reader can hold it while the write lock is held.
        table.store.free_directory(old);
    }

    /// Adds the counts of `table` to the retired counts and frees it. Called by the
    /// thread that owns `table`, once it will write it no more.
    fn retire(&self, table: TablePtr) {
        let mut state = self.write();
        // SAFETY: live until removed below; its owner is the caller.
        for (first_id, chunk) in unsafe { table.get() }.allocated() {
            for (offset, slot) in chunk.0.iter().enumerate() {
                let value = slot.load(Relaxed);
                if value != 0 {
                    state.fold(first_id + offset as u32, value);
                }
            }
        }
        if let Some(position) = state.live.iter().position(|live| *live == table) {
            state.live.swap_remove(position);
        }
        drop(state);
        // SAFETY: no longer listed, so no reader can reach it, and its owner is done.
        drop(unsafe { Box::from_raw(table.0.as_ptr()) });
    }

    /// The total of slot `id`: the retired count plus every live table's slot.
    fn sum(&self, id: u32) -> u64 {
        let state = self.read();
        let mut total = state.retired(id);
        for table in &state.live {
            // SAFETY: listed tables are alive while the lock is held.
            if let Some(slot) = unsafe { table.get() }.slot(id) {
                total = total.wrapping_add(slot.load(Relaxed));
            }
        }
        total
    }

    /// Appends, for each `(id, base)`, `base` plus [`sum`](Self::sum) of the id (nothing
    /// for `None`) to `totals`, under one read lock.
    fn sum_each(&self, ids: impl Iterator<Item = (Option<u32>, u64)>, totals: &mut Vec<u64>) {
        let state = self.read();
        totals.extend(ids.map(|(id, base)| {
            let Some(id) = id else { return base };
            let mut total = base.wrapping_add(state.retired(id));
            for table in &state.live {
                // SAFETY: as in `sum`.
                if let Some(slot) = unsafe { table.get() }.slot(id) {
                    total = total.wrapping_add(slot.load(Relaxed));
                }
            }
            total
        }));
    }

    /// As [`sum`](Self::sum), for a slot holding the bits of an `f64`.
    fn sum_f64(&self, id: u32) -> f64 {
        let state = self.read();
        let mut total = f64::from_bits(state.retired(id));
        for table in &state.live {
            // SAFETY: as in `sum`.
            if let Some(slot) = unsafe { table.get() }.slot(id) {
                total += f64::from_bits(slot.load(Relaxed));
            }
        }
        total
    }

    /// Takes a free slot id for a slot of `kind`, or `None` when all [`MAX_SLOTS`] are
    /// in use.
    fn acquire_id(&self, kind: SlotKind) -> Option<u32> {
        let mut state = self.write();
        let id = match state.free_ids.pop() {
            Some(id) => id,
            None if state.next_id < MAX_SLOTS => {
                state.next_id += 1;
                state.next_id - 1
            }
            None => return None,
        };
        state.set_kind(id, kind);
        Some(id)
    }

    /// Zeroes slot `id` everywhere and makes it available again. The variable that
    /// owned it is gone, so no thread bumps it any more; the next user of the id reads
    /// the zeroes through the chain described in the module docs.
    fn release_id(&self, id: u32) {
        let mut state = self.write();
        for table in &state.live {
            // SAFETY: as in `sum`.
            if let Some(slot) = unsafe { table.get() }.slot(id) {
                slot.store(0, Relaxed);
            }
        }
        if let Some(Some(chunk)) = state.retired.get_mut((id >> CHUNK_BITS) as usize) {
            chunk[id as usize & (CHUNK_LEN - 1)] = 0;
        }
        state.free_ids.push(id);
    }

    /// Tables a read visits: one per live thread that has counted.
    #[cfg(test)]
    fn live_tables(&self) -> usize {
        self.read().live.len()
    }
}

#[cfg(not(all(test, expvar_loom)))]
static SLOTS: Slots = Slots::new();

#[cfg(all(test, expvar_loom))]
loom::lazy_static! {
    static ref SLOTS: Slots = Slots::new();
}

// This thread's table: `UNCLAIMED` until its first bump, `EXITED` once retired. No
// destructor, so reading it is one thread-local load with no state check; retiring is
// left to `RETIRE_ON_EXIT`, registered when the table is claimed.
#[cfg(not(all(test, expvar_loom)))]
thread_local! {
    static TABLE: Cell<&'static Table> = const { Cell::new(&UNCLAIMED) };
    static RETIRE_ON_EXIT: RetireOnExit = const { RetireOnExit };
}

#[cfg(all(test, expvar_loom))]
loom::thread_local! {
    static TABLE: Cell<&'static Table> = Cell::new(&UNCLAIMED);
}

/// Retires this thread's table when the thread exits.
#[cfg(not(all(test, expvar_loom)))]
struct RetireOnExit;

#[cfg(not(all(test, expvar_loom)))]
impl Drop for RetireOnExit {
    fn drop(&mut self) {
        retire_local();
    }
}

fn retire_local() {
    let table = TABLE.with(|local| local.replace(&EXITED));
    if !ptr::eq(table, &UNCLAIMED) && !ptr::eq(table, &EXITED) {
        SLOTS.retire(TablePtr(NonNull::from(table)));
    }
}

/// What a thread's exit does: retires its table. Loom drops thread-locals outside its
/// execution, where its lock cannot be used, so model threads call this at their end.
#[cfg(all(test, expvar_loom))]
fn exit_thread() {
    retire_local();
}

/// The calling thread's table, to bump several slots with one thread-local read (see
/// [`add_on`]). Not `Send`: it must be used on the thread that read it.
#[derive(Clone, Copy)]
pub(crate) struct ThreadTable {
    table: &'static Table,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// The calling thread's table.
#[inline]
pub(crate) fn this_thread() -> ThreadTable {
    ThreadTable {
        table: TABLE.with(Cell::get),
        _not_send: std::marker::PhantomData,
    }
}

impl ThreadTable {
    /// The calling thread's [stripe](stripe), below [`stripes`]: 0 until the thread
    /// first counts into a slot (a histogram's sum does, on its first record).
    #[inline]
    pub(crate) fn stripe(self) -> usize {
        self.table.stripe
    }

    /// Adds `value` to the calling thread's slot `id`, which holds the bits of an `f64`,
    /// as [`add_f64`] does.
    #[inline]
    pub(crate) fn add_f64(self, id: u32, value: f64) -> bool {
        with_slot_in(self.table, id, |slot| {
            let sum = f64::from_bits(slot.load(Relaxed)) + value;
            slot.store(sum.to_bits(), Relaxed);
        })
    }
}

/// Applies `update` to slot `id` of `table`, the calling thread's. Returns `false` if the
/// thread cannot have a table (its thread-locals are being torn down) and the caller
/// must count elsewhere.
#[inline]
fn with_slot_in(table: &'static Table, id: u32, update: impl FnOnce(&AtomicU64)) -> bool {
    match table.slot(id) {
        Some(slot) => {
            update(slot);
            true
        }
        None => match own_slot_cold(id) {
            Some(slot) => {
                update(slot);
                true
            }
            None => false,
        },
    }
}

/// Slot `id` of this thread's table, claiming the table or allocating the chunk first.
/// Reads the thread-local afresh: a [`ThreadTable`] read before the claim is stale.
#[cold]
fn own_slot_cold(id: u32) -> Option<&'static AtomicU64> {
    let mut table = TABLE.with(Cell::get);
    if ptr::eq(table, &EXITED) {
        return None;
    }
    if ptr::eq(table, &UNCLAIMED) {
        // Registers the destructor first: a thread already tearing down its
        // thread-locals cannot, and must not claim a table nobody would retire.
        #[cfg(not(all(test, expvar_loom)))]
        if RETIRE_ON_EXIT.try_with(|_| ()).is_err() {
            TABLE.with(|local| local.set(&EXITED));
            return None;
        }
        // SAFETY: a claimed table lives until `retire_local` takes it out of `TABLE`,
        // which only this thread's exit does.
        table = unsafe { SLOTS.claim().get() };
        TABLE.with(|local| local.set(table));
    }
    Some(table.slot_or_alloc(id))
}

/// This thread's slot `id`, claiming the table or the chunk first if needed, with the
/// table it is in; `None` if the thread cannot have a table. The slot is valid while
/// [`is_this_thread`] says so of the table.
pub(crate) fn own_slot(id: u32) -> Option<(ThreadTable, NonNull<AtomicU64>)> {
    let slot = match this_thread().table.slot(id) {
        Some(slot) => slot,
        None => own_slot_cold(id)?,
    };
    Some((this_thread(), NonNull::from(slot)))
}

/// Whether `table` is (still) this thread's table: false once the thread's exit has
/// retired it.
#[inline]
pub(crate) fn is_this_thread(table: ThreadTable) -> bool {
    ptr::eq(TABLE.with(Cell::get), table.table)
}

/// A slot of the calling thread's table, kept by a value that may move to another
/// thread before it adds (the guard of an `async` call): [`add_here`](Self::add_here)
/// adds only on the thread that took it, where the slot is known to be alive.
#[derive(Clone, Copy)]
pub(crate) struct PinnedSlot {
    /// The serial of the table the slot is in: never 0, the static tables' serial.
    serial: u64,
    slot: NonNull<AtomicU64>,
}

// SAFETY: the slot is only written by `add_here`, on the thread whose table holds it.
unsafe impl Send for PinnedSlot {}
// SAFETY: as above.
unsafe impl Sync for PinnedSlot {}

impl PinnedSlot {
    /// Adds `n` if the calling thread is the one that pinned the slot (and its table has
    /// not been retired); `false`, adding nothing, on any other thread.
    #[inline]
    pub(crate) fn add_here(self, n: u64) -> bool {
        // A table's serial is unique for the life of the process, so an equal serial
        // is this very table, alive (it is this thread's), even if another table once
        // had the same address.
        if TABLE.with(Cell::get).serial != self.serial {
            return false;
        }
        // SAFETY: the slot is in this thread's live table, whose chunks stay allocated
        // until it is retired.
        add_to(unsafe { self.slot.as_ref() }, n);
        true
    }
}

/// Adds `n` to this thread's slot `add`, and pins its slot `pin`, with one read of the
/// thread's table and one lookup of the chunk when both are in the same chunk (two
/// counters of one variable, given ids one after the other). `None`, adding nothing,
/// unless the thread has both chunks already: the caller then takes the long way.
#[inline]
pub(crate) fn add_and_pin(add: u32, n: u64, pin: u32) -> Option<PinnedSlot> {
    let table = TABLE.with(Cell::get);
    let directory = table.directory().as_slice();
    let chunk = |id: u32| {
        let chunk = directory.get((id >> CHUNK_BITS) as usize)?.load(Acquire);
        // SAFETY: a non-null chunk pointer stays valid until the table is dropped.
        unsafe { chunk.as_ref() }
    };
    let add_chunk = chunk(add)?;
    let pin_chunk = if add >> CHUNK_BITS == pin >> CHUNK_BITS {
        add_chunk
    } else {
        chunk(pin)?
    };
    add_to(&add_chunk.0[add as usize & (CHUNK_LEN - 1)], n);
    Some(PinnedSlot {
        serial: table.serial,
        slot: NonNull::from(&pin_chunk.0[pin as usize & (CHUNK_LEN - 1)]),
    })
}

/// This thread's slot `id`, pinned, and the table it is in for more adds on this thread;
/// claims the table or the chunk first if needed. `None` if the thread cannot have a
/// table. The slot must belong to a variable that outlives the pin.
#[inline]
pub(crate) fn pin(id: u32) -> Option<(ThreadTable, PinnedSlot)> {
    let mut table = TABLE.with(Cell::get);
    let slot = match table.slot(id) {
        Some(slot) => slot,
        None => {
            let slot = own_slot_cold(id)?;
            table = TABLE.with(Cell::get);
            slot
        }
    };
    let pinned = PinnedSlot {
        serial: table.serial,
        slot: NonNull::from(slot),
    };
    let table = ThreadTable {
        table,
        _not_send: std::marker::PhantomData,
    };
    Some((table, pinned))
}

/// Adds `n` to `slot`, a slot of this thread's table.
#[inline]
pub(crate) fn add_to(slot: &AtomicU64, n: u64) {
    // Only this thread writes this slot: a plain read-modify-write is exact.
    slot.store(slot.load(Relaxed).wrapping_add(n), Relaxed)
}

/// Adds `n` to this thread's slot `id`. Returns `false` if the thread cannot have a
/// table and the caller must count elsewhere.
#[inline]
pub(crate) fn add(id: u32, n: u64) -> bool {
    add_on(this_thread(), id, n)
}

/// Adds `n` to slot `id` of `table`, which [`this_thread`] returned on this thread.
#[inline]
pub(crate) fn add_on(table: ThreadTable, id: u32, n: u64) -> bool {
    with_slot_in(table.table, id, |slot| add_to(slot, n))
}

/// Adds `value` to this thread's slot `id`, which holds the bits of an `f64`.
#[inline]
pub(crate) fn add_f64(id: u32, value: f64) -> bool {
    this_thread().add_f64(id, value)
}

/// The total of slot `id` over retired and live tables.
pub(crate) fn sum(id: u32) -> u64 {
    SLOTS.sum(id)
}

/// Appends, for each `(id, base)` in `ids`, `base` plus the total of the slot id (nothing
/// for `None`) to `totals`, read under one lock.
pub(crate) fn sum_each(ids: impl Iterator<Item = (Option<u32>, u64)>, totals: &mut Vec<u64>) {
    SLOTS.sum_each(ids, totals)
}

/// The total of slot `id`, whose slots hold the bits of an `f64`.
pub(crate) fn sum_f64(id: u32) -> f64 {
    SLOTS.sum_f64(id)
}

/// How many tables a read visits now: one per live thread that has counted.
#[cfg(all(test, not(expvar_loom)))]
pub(crate) fn live_tables() -> usize {
    SLOTS.live_tables()
}

/// The atomic a [`SlotIdIn`] keeps its id in: std's, or loom's in the model.
pub(crate) trait IdCell {
    fn load(&self, order: Ordering) -> u32;
    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32>;
}

impl IdCell for std::sync::atomic::AtomicU32 {
    #[inline]
    fn load(&self, order: Ordering) -> u32 {
        self.load(order)
    }

    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32> {
        self.compare_exchange(current, new, success, failure)
    }
}

/// A variable's slot id, taken on first use and given back when the variable is dropped.
pub(crate) type SlotId = SlotIdIn<std::sync::atomic::AtomicU32>;

pub(crate) struct SlotIdIn<A: IdCell>(A);

/// No id yet: one is taken on first use.
const UNASSIGNED: u32 = 0;
/// No id could be had: the variable counts through its own shared atomic.
const EXHAUSTED: u32 = u32::MAX;

impl SlotId {
    pub(crate) const fn new() -> Self {
        SlotIdIn(std::sync::atomic::AtomicU32::new(UNASSIGNED))
    }
}

impl<A: IdCell> SlotIdIn<A> {
    /// The id, if one has been taken. `Acquire`: see the module docs on id reuse.
    #[inline]
    pub(crate) fn get(&self) -> Option<u32> {
        match self.0.load(Acquire) {
            UNASSIGNED | EXHAUSTED => None,
            stored => Some(stored - 1),
        }
    }

    /// The id, taking one for a slot of `kind` if none was taken yet; `None` when none
    /// is available.
    #[cold]
    pub(crate) fn get_or_assign(&self, kind: SlotKind) -> Option<u32> {
        if self.0.load(Acquire) == UNASSIGNED {
            let candidate = SLOTS.acquire_id(kind).map_or(EXHAUSTED, |id| id + 1);
            // Racing threads agree on one winner; a loser gives its id back. `Release`
            // publishes the id after the zeroing its last release did.
            if let Err(_winner) = self
                .0
                .compare_exchange(UNASSIGNED, candidate, Release, Acquire)
            {
                if candidate != EXHAUSTED {
                    SLOTS.release_id(candidate - 1);
                }
            }
        }
        self.get()
    }
}

impl<A: IdCell> Drop for SlotIdIn<A> {
    fn drop(&mut self) {
        if let Some(id) = self.get() {
            SLOTS.release_id(id);
        }
    }
}

/// Held by unit tests that start thousands of threads or count the process's threads,
/// so they do not run at the same time.
#[cfg(test)]
pub(crate) static MANY_THREADS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(all(test, not(expvar_loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_their_threads_and_tables_are_freed() {
        let counter = SlotId::new();
        let sum_id = SlotId::new();
        let id = counter.get_or_assign(SlotKind::Count).unwrap();
        let float = sum_id.get_or_assign(SlotKind::Sum).unwrap();
        for _ in 0..3 {
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        for _ in 0..1000 {
                            assert!(add(id, 1));
                            assert!(add_f64(float, 0.5));
                        }
                    });
                }
            });
        }
        assert_eq!(sum(id), 12_000);
        assert_eq!(sum_f64(float), 6_000.0);
        assert!(add(id, 5));
        assert_eq!(sum(id), 12_005);
        drop(counter);
        let again = SlotId::new();
        let reused = again.get_or_assign(SlotKind::Count).unwrap();
        assert_eq!(sum(reused), 0, "a reused id starts from zero");
    }

    #[test]
    fn a_thread_counting_many_counters_spans_several_blocks_and_frees_them() {
        // 10,000 slots: 157 chunks, more than one block of the store, and a directory
        // grown seven times.
        let ids: Vec<SlotId> = (0..10_000).map(|_| SlotId::new()).collect();
        let assigned: Vec<u32> = ids
            .iter()
            .map(|id| id.get_or_assign(SlotKind::Count).unwrap())
            .collect();
        for round in 1..=2 {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    for (n, &id) in assigned.iter().enumerate() {
                        assert!(add(id, n as u64));
                    }
                    let (_, pinned) = pin(assigned[9_999]).unwrap();
                    assert!(pinned.add_here(1));
                    let elsewhere = std::thread::spawn(move || pinned.add_here(1));
                    assert!(!elsewhere.join().unwrap());
                });
            });
            for (n, &id) in assigned.iter().enumerate() {
                let pinned = u64::from(n == 9_999);
                assert_eq!(sum(id), round * (n as u64 + pinned));
            }
        }
    }

    #[test]
    fn a_burst_of_threads_leaves_exact_counts_and_few_tables() {
        let _alone = MANY_THREADS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        const THREADS: usize = 2_000;
        let slot = SlotId::new();
        let id = slot.get_or_assign(SlotKind::Count).unwrap();
        let barrier = std::sync::Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    assert!(add(id, 3));
                    // All alive at once: thousands of tables exist here.
                    barrier.wait();
                    assert!(add(id, 1));
                });
            }
        });
        assert_eq!(sum(id), 4 * THREADS as u64);
        // Exited threads' tables are gone; what is left belongs to threads of other
        // tests running now (each test thread, plus their own short-lived threads).
        // A scoped thread is joined when its closure returns; its thread-local
        // destructor (which retires the table) may run a moment later.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while live_tables() >= 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(live_tables() < 100, "{} live tables", live_tables());
    }
}
