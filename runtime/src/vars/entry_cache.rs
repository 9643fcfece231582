//! A per-thread cache of [`Map`](crate::Map) entries, so that `Map::add` on a key this
//! thread has used before takes no lock.
//!
//! Even an uncontended read lock is an atomic read-modify-write on a line every thread
//! shares; with two threads adding to one map the line moves between cores on every
//! call. The cache turns a repeated `add` into a hash of the key, a compare, and the
//! entry's own per-thread add.
//!
//! Each map has a stamp, unique in the process: taken on first use and replaced
//! whenever a key may come to mean another entry (`set`, `remove`, `clear`). A cached
//! entry is used only while its map's stamp is the one it was cached under, so entries
//! of a changed or dropped map are never used again (a new map never gets an old stamp).
//! A cached entry holds its `Arc`, so an `add` racing a `remove` lands in the removed
//! entry, as it would have had it taken the lock first, and never in memory that is
//! gone. What a thread's cache holds (at most [`WAYS`] entries) is freed when it is
//! overwritten or the thread exits.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::slots::{self, Slot, ThreadTable};

/// A variable a map's `add` can reach through the cache.
pub(crate) trait Cached: Send + Sync + 'static {
    /// This thread's slot of the variable, if it counts in per-thread slots: then a
    /// cached `add` goes straight to it.
    fn own_slot(&self) -> Option<(ThreadTable, NonNull<Slot>)> {
        None
    }
}

/// Entries per thread, indexed by the key's hash (direct-mapped).
const WAYS: usize = 32;
/// Longer keys are not cached, so that caching never allocates.
const KEY_CAPACITY: usize = 8 * KEY_WORDS;
const KEY_WORDS: usize = 3;

/// Where stamps come from; 0 means "no stamp yet".
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

/// A map's stamp (see the module docs).
#[derive(Debug)]
pub(crate) struct Stamp(AtomicU64);

impl Stamp {
    pub(crate) const fn new() -> Self {
        Stamp(AtomicU64::new(0))
    }

    /// The current stamp, or 0 if the map never filled a cache.
    #[inline]
    fn current(&self) -> u64 {
        self.0.load(Relaxed)
    }

    /// The current stamp, taking the first one if needed. Called with the map's read
    /// or write lock held, so that the stamp belongs to the entries the caller sees.
    fn get_or_take(&self) -> u64 {
        match self.0.load(Relaxed) {
            0 => match self.0.compare_exchange(0, fresh(), Relaxed, Relaxed) {
                Ok(_) => self.0.load(Relaxed),
                Err(winner) => winner,
            },
            stamp => stamp,
        }
    }

    /// Makes every cached entry of the map stale. Called with the map's write lock
    /// held, before the change is visible.
    pub(crate) fn renew(&self) {
        if self.0.load(Relaxed) != 0 {
            self.0.store(fresh(), Relaxed);
        }
    }
}

fn fresh() -> u64 {
    NEXT_STAMP.fetch_add(1, Relaxed)
}

/// One cached entry.
struct Entry {
    stamp: u64,
    key_len: usize,
    /// The key's bytes, zero-padded, as little-endian words.
    key: [u64; KEY_WORDS],
    /// An `Arc<V>` (from `Arc::into_raw`), for the `V` of the map with `stamp`.
    value: NonNull<()>,
    drop_value: unsafe fn(NonNull<()>),
    /// The value's slot in this thread's table, valid while the table is this
    /// thread's (the value, kept alive here, keeps its slot id).
    slot: Option<(ThreadTable, NonNull<Slot>)>,
}

impl Entry {
    #[inline]
    fn is(&self, stamp: u64, key: &Key) -> bool {
        // One combined test of scalars: comparing the arrays as such goes through
        // memory with mixed widths, which stalls store forwarding.
        let [a, b, c] = self.key;
        let [x, y, z] = key.words;
        ((self.stamp ^ stamp) | (self.key_len ^ key.len) as u64 | (a ^ x) | (b ^ y) | (c ^ z)) == 0
    }
}

/// A key of at most [`KEY_CAPACITY`] bytes as zero-padded words, and its hash.
#[derive(Clone, Copy)]
struct Key {
    len: usize,
    words: [u64; KEY_WORDS],
    hash: u64,
}

impl Key {
    #[inline]
    fn new(key: &str) -> Option<Key> {
        let bytes = key.as_bytes();
        let len = bytes.len();
        if len > KEY_CAPACITY {
            return None;
        }
        // FxHash over the words: a few cycles for a short label value.
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mix = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(SEED);
        let first = load_padded(&bytes[..len.min(8)]);
        let mut hash = mix(len as u64, first);
        let (mut second, mut third) = (0, 0);
        if len > 8 {
            second = load_padded(&bytes[8..len.min(16)]);
            hash = mix(hash, second);
            if len > 16 {
                third = load_padded(&bytes[16..]);
                hash = mix(hash, third);
            }
        }
        Some(Key {
            len,
            words: [first, second, third],
            hash,
        })
    }

    #[inline]
    fn way(&self) -> usize {
        (self.hash >> (64 - WAYS.trailing_zeros())) as usize
    }
}

/// Up to 8 bytes as a little-endian word, zero-padded, in at most two loads (no
/// `memcpy` call for a short key).
#[inline]
fn load_padded(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    match len {
        8 => u64::from_le_bytes(bytes.try_into().expect("8 bytes")),
        // The two loads overlap on equal bytes, so or-ing them is exact.
        4..=7 => u64::from(word(0)) | u64::from(word(len - 4)) << ((len - 4) * 8),
        1..=3 => {
            u64::from(bytes[0])
                | u64::from(bytes[len / 2]) << (len / 2 * 8)
                | u64::from(bytes[len - 1]) << ((len - 1) * 8)
        }
        _ => 0,
    }
}

impl Cached for crate::Counter {
    fn own_slot(&self) -> Option<(ThreadTable, NonNull<Slot>)> {
        crate::Counter::own_slot(self)
    }
}

impl Cached for crate::Gauge {}

impl Cached for crate::Float {}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: `value` came from `Arc::<V>::into_raw` with the matching `drop_value`.
        unsafe { (self.drop_value)(self.value) }
    }
}

/// # Safety
/// `value` must come from `Arc::<V>::into_raw` and not be used afterwards.
unsafe fn drop_arc<V>(value: NonNull<()>) {
    // SAFETY: by the caller.
    drop(unsafe { Arc::from_raw(value.as_ptr().cast_const().cast::<V>()) });
}

thread_local! {
    // Only this module touches it, never while a reference into it is alive across a
    // call that could come back here (see `with_cached`), so an `UnsafeCell` is enough.
    static CACHE: UnsafeCell<[Option<Entry>; WAYS]> = const { UnsafeCell::new([const { None }; WAYS]) };
}

/// Applies `update` to the cached entry for `key` of the map with `stamp`, with the
/// entry's slot in this thread's table if it has one; gives `update` back if there is
/// no entry (the caller takes the lock).
///
/// # Safety
/// `update` must not use this module (it is one of the maps' own adds).
#[inline]
pub(crate) unsafe fn with_cached<V, F>(stamp: &Stamp, key: &str, update: F) -> Result<(), F>
where
    F: FnOnce(&V, Option<&Slot>),
{
    let stamp = stamp.current();
    if stamp == 0 {
        return Err(update);
    }
    let Some(key) = Key::new(key) else {
        return Err(update);
    };
    let mut update = Some(update);
    let _ = CACHE.try_with(|cache| {
        // SAFETY: see `CACHE`; `update` does not come back here, by the caller.
        let cache = unsafe { &*cache.get() };
        let Some(entry) = cache[key.way()]
            .as_ref()
            .filter(|entry| entry.is(stamp, &key))
        else {
            return;
        };
        let slot = match entry.slot {
            // SAFETY: a slot of this thread's live table (see `Entry::slot`).
            Some((table, slot)) if slots::is_this_thread(table) => Some(unsafe { slot.as_ref() }),
            _ => None,
        };
        if let Some(update) = update.take() {
            // SAFETY: an entry with this map's stamp holds an `Arc<V>` of this map's
            // `V` (stamps are never shared between maps), alive while cached.
            update(unsafe { entry.value.cast::<V>().as_ref() }, slot);
        }
    });
    update.map_or(Ok(()), Err)
}

/// Caches `value` as the entry for `key` of the map with `stamp`. The caller holds the
/// map's lock, under which `value` is the entry for `key`.
pub(crate) fn fill<V: Cached>(stamp: &Stamp, key: &str, value: &Arc<V>) {
    let Some(key) = Key::new(key) else {
        return;
    };
    let entry = Entry {
        stamp: stamp.get_or_take(),
        key_len: key.len,
        key: key.words,
        value: NonNull::new(Arc::into_raw(Arc::clone(value)).cast_mut())
            .expect("an Arc is never null")
            .cast(),
        drop_value: drop_arc::<V>,
        slot: value.own_slot(),
    };
    // The entry it replaces is dropped after the cache is let go: dropping the last
    // `Arc` of a variable runs its `Drop`, which must not find the cache in use.
    let replaced = CACHE.try_with(|cache| {
        // SAFETY: see `CACHE`; nothing here calls out while the reference lives.
        let cache = unsafe { &mut *cache.get() };
        cache[key.way()].replace(entry)
    });
    drop(replaced);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Counter;

    fn unsafe_cached(stamp: &Stamp, key: &str, update: impl FnOnce(&Counter)) -> bool {
        // SAFETY: a counter's add does not use the cache.
        unsafe { with_cached(stamp, key, |counter: &Counter, _| update(counter)) }.is_ok()
    }

    #[test]
    fn padded_words_and_hashes_tell_keys_apart() {
        let keys = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "GET",
            "PUT",
        ];
        for (i, a) in keys.iter().enumerate() {
            let ka = Key::new(a).unwrap();
            let mut expected = [0u8; KEY_CAPACITY];
            expected[..a.len()].copy_from_slice(a.as_bytes());
            for (w, chunk) in ka.words.iter().zip(expected.chunks(8)) {
                assert_eq!(*w, u64::from_le_bytes(chunk.try_into().unwrap()), "{a:?}");
            }
            for b in &keys[i + 1..] {
                let kb = Key::new(b).unwrap();
                assert!(ka.words != kb.words || ka.len != kb.len, "{a:?} {b:?}");
            }
        }
        assert!(Key::new(&"x".repeat(KEY_CAPACITY + 1)).is_none());
    }

    #[test]
    fn a_renewed_stamp_makes_entries_stale() {
        let stamp = Stamp::new();
        let counter = Arc::new(Counter::new());
        assert!(!unsafe_cached(&stamp, "GET", |c| c.inc()));
        fill(&stamp, "GET", &counter);
        assert!(unsafe_cached(&stamp, "GET", |c| c.inc()));
        assert!(!unsafe_cached(&stamp, "PUT", |c| c.inc()));
        assert_eq!(Arc::strong_count(&counter), 2, "the cache holds one");
        stamp.renew();
        assert!(!unsafe_cached(&stamp, "GET", |c| c.inc()));
        assert_eq!(counter.get(), 1);
    }

    #[test]
    fn long_keys_are_not_cached() {
        let stamp = Stamp::new();
        let counter = Arc::new(Counter::new());
        let key = "k".repeat(KEY_CAPACITY + 1);
        fill(&stamp, &key, &counter);
        assert!(!unsafe_cached(&stamp, &key, |c| c.inc()));
        assert_eq!(Arc::strong_count(&counter), 1);
    }

    #[test]
    fn a_threads_entries_are_freed_when_it_exits() {
        let stamp = Stamp::new();
        let counter = Arc::new(Counter::new());
        std::thread::scope(|scope| {
            scope.spawn(|| fill(&stamp, "GET", &counter));
        });
        // The thread-local destructor may run just after the scoped thread is joined.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&counter) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(Arc::strong_count(&counter), 1);
    }
}
