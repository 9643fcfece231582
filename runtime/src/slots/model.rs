//! Loom model of the slot protocol: claim on first bump, retire on thread exit, reads
//! under the lock, id release and reuse. Runs the real code with loom's atomics, lock
//! and thread-locals (tables of 2 slots per chunk, 2 chunks). Each model thread ends
//! with `exit_thread`, the retirement its thread-local destructor does outside loom:
//!
//! ```text
//! RUSTFLAGS="--cfg expvar_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p expvar-runtime --lib --release slots::model
//! ```

use std::sync::atomic::Ordering;

use loom::sync::atomic::{AtomicBool, AtomicU32};
use loom::sync::Arc;
use loom::thread;

use super::*;

impl IdCell for AtomicU32 {
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

fn slot_id() -> SlotIdIn<AtomicU32> {
    SlotIdIn(AtomicU32::new(UNASSIGNED))
}

/// Spins (yielding to the model) until `ready`.
fn wait_for(ready: impl Fn() -> bool) {
    while !ready() {
        thread::yield_now();
    }
}

#[test]
fn exiting_threads_hand_their_counts_to_readers_exactly_once() {
    loom::model(|| {
        let counter = Arc::new(slot_id());
        let id = counter.get_or_assign(SlotKind::Count).unwrap();
        let threads: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                thread::spawn(move || {
                    assert!(add(id, n));
                    exit_thread();
                })
            })
            .collect();
        // A reader racing the bumps and the retirements sees each count once or not
        // yet, never twice: every read is one of the sums of a subset of the bumps.
        let seen = sum(id);
        assert!([0, 1, 2, 3].contains(&seen), "read {seen}");
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(sum(id), 3);
        assert_eq!(SLOTS.live_tables(), 0, "exited threads' tables are freed");
    });
}

#[test]
fn a_reused_id_starts_from_zero_for_a_thread_that_counted_the_old_one() {
    loom::model(|| {
        let old = Arc::new(slot_id());
        let new = Arc::new(slot_id());
        let done_with_old = Arc::new(AtomicBool::new(false));
        let id = old.get_or_assign(SlotKind::Count).unwrap();
        let worker = {
            let (new, done_with_old) = (Arc::clone(&new), Arc::clone(&done_with_old));
            thread::spawn(move || {
                assert!(add(id, 5));
                // Dropping a variable requires every user to be done with it; this
                // stands for that synchronization (an `Arc` drop, a join).
                done_with_old.store(true, Release);
                // The thread stays alive, so its table (with 5 in the old slot) does too.
                wait_for(|| new.get().is_some());
                assert!(add(new.get().unwrap(), 1));
                exit_thread();
            })
        };
        wait_for(|| done_with_old.load(Acquire));
        drop(Arc::try_unwrap(old).ok().expect("only owner")); // releases the id
        let reused = new.get_or_assign(SlotKind::Count).unwrap();
        assert_eq!(reused, id, "the freed id is reused");
        worker.join().unwrap();
        assert_eq!(
            sum(reused),
            1,
            "nothing of the old counter leaks into the new"
        );
    });
}

#[test]
fn racing_first_uses_agree_on_one_id() {
    loom::model(|| {
        let counter = Arc::new(slot_id());
        let other = {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                let id = counter.get_or_assign(SlotKind::Count).unwrap();
                assert!(add(id, 1));
                exit_thread();
                id
            })
        };
        let id = counter.get_or_assign(SlotKind::Count).unwrap();
        assert!(add(id, 1));
        assert_eq!(other.join().unwrap(), id);
        assert_eq!(sum(id), 2);
        // The loser's id went back to the free list, so the next id is not a new one.
        let next = slot_id();
        assert!(next.get_or_assign(SlotKind::Count).unwrap() <= 1);
        exit_thread();
    });
}

#[test]
fn retired_sums_fold_as_floats() {
    loom::model(|| {
        let sum_slot = Arc::new(slot_id());
        let id = sum_slot.get_or_assign(SlotKind::Sum).unwrap();
        let worker = thread::spawn(move || {
            assert!(add_f64(id, 0.25));
            exit_thread();
        });
        assert!(add_f64(id, 0.5));
        exit_thread();
        worker.join().unwrap();
        assert_eq!(sum_f64(id), 0.75);
    });
}

#[test]
fn a_reader_never_sees_a_directory_being_grown() {
    loom::model(|| {
        let low = Arc::new(slot_id());
        let high = Arc::new(slot_id());
        let low_id = low.get_or_assign(SlotKind::Count).unwrap();
        let skip = slot_id();
        skip.get_or_assign(SlotKind::Count).unwrap();
        let high_id = high.get_or_assign(SlotKind::Count).unwrap();
        assert_ne!(low_id >> CHUNK_BITS, high_id >> CHUNK_BITS, "two chunks");
        let worker = thread::spawn(move || {
            assert!(add(low_id, 1));
            // The second chunk is past the directory's end: the owner grows it while
            // the main thread may be reading.
            assert!(add(high_id, 2));
            assert!(add(low_id, 4));
            exit_thread();
        });
        let seen_low = sum(low_id);
        let seen_high = sum(high_id);
        assert!([0, 1, 5].contains(&seen_low), "read {seen_low}");
        assert!([0, 2].contains(&seen_high), "read {seen_high}");
        worker.join().unwrap();
        assert_eq!((sum(low_id), sum(high_id)), (5, 2));
    });
}

#[test]
fn a_pinned_slot_adds_only_on_its_own_thread_while_its_table_lives() {
    loom::model(|| {
        let counter = Arc::new(slot_id());
        let id = counter.get_or_assign(SlotKind::Count).unwrap();
        // An `async` call's guard: it pins its first thread's slot, and is finished on
        // that thread or, after that thread exited, on another.
        let pinned = thread::spawn(move || {
            let (_, pinned) = pin(id).unwrap();
            assert!(pinned.add_here(1), "on its own thread");
            exit_thread();
            pinned
        })
        .join()
        .unwrap();
        let other = thread::spawn(move || {
            assert!(!pinned.add_here(4), "another thread");
            assert!(add(id, 4));
            exit_thread();
        });
        assert!(!pinned.add_here(2), "a thread with no table yet");
        assert!(add(id, 2));
        let seen = sum(id);
        assert!([3, 7].contains(&seen), "read {seen}");
        other.join().unwrap();
        assert_eq!(sum(id), 7);
        exit_thread();
    });
}
