//! Where one table's chunks and directories live.
//!
//! On Unix, in blocks mapped from the OS for the table alone and unmapped when the table
//! is freed: a thread's slots go back to the OS as it exits. From the global allocator
//! they would go back to malloc instead, and glibc keeps what exited threads freed in
//! their arenas: after 4,096 threads each counted 10,000 counters at once, 140 MiB stayed
//! resident that way (`bench/benches/burst.rs`). Only the pages a thread touches become
//! resident, so a thread that counts one counter costs one page.
//!
//! Elsewhere, and in the loom model (whose atomics cannot start as zeroed memory), each
//! chunk and directory is a `Box`.

use std::ptr::NonNull;

#[cfg(all(test, expvar_loom))]
use loom::sync::atomic::{AtomicPtr, AtomicU64};
#[cfg(not(all(test, expvar_loom)))]
use std::sync::atomic::{AtomicPtr, AtomicU64};

#[cfg(not(all(test, expvar_loom)))]
pub(super) const CHUNK_BITS: u32 = 6;
/// A model explores every interleaving of every slot: keep tables tiny there.
#[cfg(all(test, expvar_loom))]
pub(super) const CHUNK_BITS: u32 = 1;
/// Slots per chunk: 64 slots of 8 bytes, 512 bytes.
pub(crate) const CHUNK_LEN: usize = 1 << CHUNK_BITS;

#[repr(align(128))] // keep chunks of different threads off each other's cache lines
pub(super) struct Chunk(pub(super) [AtomicU64; CHUNK_LEN]);

impl Chunk {
    // On Unix chunks are mapped from the OS (see `mapped`).
    #[cfg(not(any(unix, all(test, expvar_loom))))]
    fn new_boxed() -> Box<Chunk> {
        Box::new(Chunk([const { AtomicU64::new(0) }; CHUNK_LEN]))
    }

    #[cfg(all(test, expvar_loom))]
    fn new_boxed() -> Box<Chunk> {
        Box::new(Chunk(std::array::from_fn(|_| AtomicU64::new(0))))
    }
}

/// The chunk pointers of a table, indexed by `id >> CHUNK_BITS`: a boxed slice kept as
/// its parts so that an empty one can be built in a `const`.
#[derive(Clone, Copy)]
pub(super) struct Directory {
    pub(super) start: NonNull<AtomicPtr<Chunk>>,
    pub(super) len: usize,
}

impl Directory {
    pub(super) const EMPTY: Directory = Directory {
        start: NonNull::dangling(),
        len: 0,
    };

    #[inline]
    pub(super) fn as_slice<'a>(self) -> &'a [AtomicPtr<Chunk>] {
        // SAFETY: `start` and `len` come from the table's store (or are empty); the
        // caller holds the directory's table alive.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

#[cfg(all(unix, not(all(test, expvar_loom))))]
pub(super) use mapped::Store;

#[cfg(not(all(unix, not(all(test, expvar_loom)))))]
pub(super) use boxed::Store;

#[cfg(all(unix, not(all(test, expvar_loom))))]
mod mapped {
    use std::alloc::Layout;
    use std::cell::Cell;
    use std::ptr::{self, NonNull};
    use std::sync::atomic::AtomicPtr;

    use super::{Chunk, Directory};

    /// The smallest mapping: 127 chunks after the block's header.
    const BLOCK: usize = 64 << 10;
    /// A block begins with the address of the block mapped before it and its length.
    const HEADER: usize = 128;

    /// A bump allocator over blocks mapped for one table. Used by the table's owner
    /// only (allocation) and by whoever frees the table.
    pub(crate) struct Store {
        /// The newest block, which links to the older ones.
        last: Cell<Option<NonNull<u8>>>,
        /// The free space of the newest block.
        next: Cell<usize>,
        end: Cell<usize>,
    }

    impl Store {
        pub(crate) const fn new() -> Self {
            Store {
                last: Cell::new(None),
                next: Cell::new(0),
                end: Cell::new(0),
            }
        }

        /// `layout.size()` zeroed bytes aligned to `layout.align()` (at most a page).
        fn alloc(&self, layout: Layout) -> NonNull<u8> {
            let start = self.next.get().next_multiple_of(layout.align());
            if self.last.get().is_some() && start + layout.size() <= self.end.get() {
                self.next.set(start + layout.size());
                // SAFETY: inside the newest mapping, which is not null.
                return unsafe { NonNull::new_unchecked(start as *mut u8) };
            }
            let len = (HEADER + layout.size()).next_multiple_of(BLOCK);
            // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
            let block = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if block == libc::MAP_FAILED {
                std::alloc::handle_alloc_error(layout);
            }
            let block = block.cast::<u8>();
            // SAFETY: the header is inside the new mapping, aligned to 128.
            unsafe {
                block
                    .cast::<(Option<NonNull<u8>>, usize)>()
                    .write((self.last.get(), len))
            };
            self.last.set(NonNull::new(block));
            let start = block as usize + HEADER;
            self.next.set(start + layout.size());
            self.end.set(block as usize + len);
            // SAFETY: inside the mapping just made, which is not null.
            unsafe { NonNull::new_unchecked(start as *mut u8) }
        }

        pub(crate) fn new_chunk(&self) -> *mut Chunk {
            // Zeroed memory is a chunk of zeroed atomics.
            self.alloc(Layout::new::<Chunk>()).as_ptr().cast()
        }

        pub(crate) fn new_directory(&self, len: usize) -> Directory {
            let layout = Layout::array::<AtomicPtr<Chunk>>(len).expect("a small directory");
            Directory {
                // Zeroed memory is a directory of null pointers.
                start: self.alloc(layout).cast(),
                len,
            }
        }

        /// Nothing to do: the directory goes with the blocks.
        pub(crate) fn free_directory(&self, _directory: Directory) {}

        /// Unmaps every block: chunks and directories alike.
        ///
        /// # Safety
        /// Nothing may use what this store allocated afterwards.
        pub(crate) unsafe fn free(&self, _chunks: impl Iterator<Item = *mut Chunk>) {
            let mut block = self.last.take();
            while let Some(start) = block {
                // SAFETY: every block begins with the header written when it was mapped.
                let (older, len) = unsafe { start.cast::<(Option<NonNull<u8>>, usize)>().read() };
                // SAFETY: mapped by `alloc` with this length, and no longer used.
                unsafe { libc::munmap(start.as_ptr().cast(), len) };
                block = older;
            }
        }
    }
}

#[cfg(not(all(unix, not(all(test, expvar_loom)))))]
mod boxed {
    use std::ptr::{self, NonNull};

    #[cfg(all(test, expvar_loom))]
    use loom::sync::atomic::AtomicPtr;
    #[cfg(not(all(test, expvar_loom)))]
    use std::sync::atomic::AtomicPtr;

    use super::{Chunk, Directory};

    /// Each chunk and directory a `Box`.
    pub(crate) struct Store;

    impl Store {
        pub(crate) const fn new() -> Self {
            Store
        }

        pub(crate) fn new_chunk(&self) -> *mut Chunk {
            Box::into_raw(Chunk::new_boxed())
        }

        pub(crate) fn new_directory(&self, len: usize) -> Directory {
            let chunks: Box<[AtomicPtr<Chunk>]> =
                (0..len).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
            let start = NonNull::new(Box::into_raw(chunks).cast::<AtomicPtr<Chunk>>())
                .expect("a box is never null");
            Directory { start, len }
        }

        /// Frees a directory that is no longer used (it was replaced under the write
        /// lock, so no reader holds it).
        pub(crate) fn free_directory(&self, directory: Directory) {
            if directory.len > 0 {
                let slice = ptr::slice_from_raw_parts_mut(directory.start.as_ptr(), directory.len);
                // SAFETY: made by `new_directory` and no longer used.
                drop(unsafe { Box::from_raw(slice) });
            }
        }

        /// Frees `chunks`, every chunk this store made.
        ///
        /// # Safety
        /// Nothing may use them afterwards.
        pub(crate) unsafe fn free(&self, chunks: impl Iterator<Item = *mut Chunk>) {
            for chunk in chunks {
                // SAFETY: made by `new_chunk` and, by the caller, no longer used.
                drop(unsafe { Box::from_raw(chunk) });
            }
        }
    }
}
