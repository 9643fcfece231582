//! Blocks: [`BLOCK_LEN`] consecutive slot ids making up one whole chunk, for a
//! variable that counts many things side by side (a page of a histogram's buckets).
//!
//! A thread that bumps any slot of a block allocates the block's chunk in its table,
//! so the things counted together share that thread's cache lines and no other
//! variable's; reading a block sums one chunk per live table under one read lock.
//! Ids of a block are released together, zeroed in every table as a single id is, and
//! reused only as a block.

use super::*;

/// Slots in a block: one chunk.
pub(crate) const BLOCK_LEN: usize = CHUNK_LEN;

impl Slots {
    /// Takes a free block, or `None` when no whole chunk is left.
    fn acquire_block(&self) -> Option<u32> {
        let mut state = self.write();
        if let Some(first) = state.free_blocks.pop() {
            return Some(first);
        }
        let first = state.next_id.next_multiple_of(CHUNK_LEN as u32);
        let end = first.checked_add(CHUNK_LEN as u32)?;
        if end > MAX_SLOTS {
            return None;
        }
        // The ids skipped to reach a chunk's start stay available one by one.
        for skipped in state.next_id..first {
            state.free_ids.push(skipped);
        }
        state.next_id = end;
        for id in first..end {
            state.set_kind(id, SlotKind::Count);
        }
        Some(first)
    }

    /// Zeroes block `first` in every table and the retired counts, and makes it
    /// available again (as [`release_id`](Self::release_id) does for one id).
    fn release_block(&self, first: u32) {
        let mut state = self.write();
        let index = (first >> CHUNK_BITS) as usize;
        for table in &state.live {
            // SAFETY: listed tables are alive while the lock is held; a non-null chunk
            // pointer stays valid until its table is dropped.
            let chunk = unsafe { table.get() }
                .directory()
                .as_slice()
                .get(index)
                .and_then(|chunk| unsafe { chunk.load(Acquire).as_ref() });
            for slot in chunk.iter().flat_map(|chunk| &chunk.0) {
                slot.store(0, Relaxed);
            }
        }
        if let Some(Some(chunk)) = state.retired.get_mut(index) {
            chunk.fill(0);
        }
        state.free_blocks.push(first);
    }

    /// Adds the totals of block `first` (retired plus every live table) to `totals`.
    fn sum_block(&self, first: u32, totals: &mut [u64; BLOCK_LEN]) {
        let state = self.read();
        let index = (first >> CHUNK_BITS) as usize;
        if let Some(Some(retired)) = state.retired.get(index) {
            for (total, retired) in totals.iter_mut().zip(retired.iter()) {
                *total = total.wrapping_add(*retired);
            }
        }
        for table in &state.live {
            // SAFETY: as in `release_block`.
            let chunk = unsafe { table.get() }
                .directory()
                .as_slice()
                .get(index)
                .and_then(|chunk| unsafe { chunk.load(Acquire).as_ref() });
            if let Some(chunk) = chunk {
                for (total, slot) in totals.iter_mut().zip(&chunk.0) {
                    *total = total.wrapping_add(slot.load(Relaxed));
                }
            }
        }
    }
}

/// A block of slot ids, taken on first use and given back when dropped.
pub(crate) type SlotBlock = SlotBlockIn<std::sync::atomic::AtomicU32>;

/// See [`SlotBlock`]; generic over the atomic for the loom model.
pub(crate) struct SlotBlockIn<A: IdCell>(pub(super) A);

impl SlotBlock {
    pub(crate) const fn new() -> Self {
        SlotBlockIn(std::sync::atomic::AtomicU32::new(UNASSIGNED))
    }
}

impl<A: IdCell> SlotBlockIn<A> {
    /// The first id of the block, if one has been taken. `Acquire`, as for
    /// [`SlotIdIn::get`]: see the module docs on id reuse.
    #[inline]
    pub(crate) fn get(&self) -> Option<u32> {
        match self.0.load(Acquire) {
            UNASSIGNED | EXHAUSTED => None,
            stored => Some(stored - 1),
        }
    }

    /// The first id, taking a block if none was taken yet; `None` when none is left.
    #[cold]
    pub(crate) fn get_or_assign(&self) -> Option<u32> {
        if self.0.load(Acquire) == UNASSIGNED {
            let candidate = SLOTS.acquire_block().map_or(EXHAUSTED, |first| first + 1);
            if let Err(_winner) = self
                .0
                .compare_exchange(UNASSIGNED, candidate, Release, Acquire)
            {
                if candidate != EXHAUSTED {
                    SLOTS.release_block(candidate - 1);
                }
            }
        }
        self.get()
    }

    /// Adds the block's totals to `totals` (nothing if no block was taken).
    pub(crate) fn sum_into(&self, totals: &mut [u64; BLOCK_LEN]) {
        if let Some(first) = self.get() {
            SLOTS.sum_block(first, totals);
        }
    }
}

impl<A: IdCell> Drop for SlotBlockIn<A> {
    fn drop(&mut self) {
        if let Some(first) = self.get() {
            SLOTS.release_block(first);
        }
    }
}

#[cfg(all(test, not(expvar_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_one_chunk_counted_per_thread_and_reused_zeroed() {
        let single = SlotId::new();
        single.get_or_assign(SlotKind::Sum).unwrap();
        let block = SlotBlock::new();
        let first = block.get_or_assign().unwrap();
        assert_eq!(first as usize % BLOCK_LEN, 0, "a block starts a chunk");
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    for offset in 0..BLOCK_LEN as u32 {
                        assert!(add(first + offset, u64::from(offset)));
                    }
                });
            }
        });
        assert!(add(first + 1, 10));
        let mut totals = [0; BLOCK_LEN];
        block.sum_into(&mut totals);
        assert_eq!(totals[0], 0);
        assert_eq!(totals[1], 13);
        assert_eq!(totals[BLOCK_LEN - 1], 3 * (BLOCK_LEN as u64 - 1));
        // Every slot of the block counts as a count, whatever the ids held before.
        drop(block);
        let again = SlotBlock::new();
        let reused = again.get_or_assign().unwrap();
        let mut totals = [0; BLOCK_LEN];
        again.sum_into(&mut totals);
        assert_eq!(totals, [0; BLOCK_LEN], "block {reused} starts from zero");
    }
}
