//! Encoders: each turns what a [`Var`] writes into one output format.
//!
//! Every output is a view of the same registry, so every encoder implements the one
//! `Encode` interface that [`Writer`](crate::vars::Writer) drives (defined beside it),
//! and every whole document is put together by [`render`].

use crate::stats::process::document_scope;
use crate::vars::{Var, VarRef};

pub(crate) mod failures;
pub(crate) mod json;
pub(crate) mod prometheus;
// The protobuf exposition writes with it; the pushers (issue 21) use the rest.
#[allow(dead_code)]
pub(crate) mod protobuf;
#[cfg(feature = "server")]
pub(crate) mod sample;

/// One output format's document, written variable by variable by [`render`].
pub(crate) trait Document {
    /// The finished document.
    type Output;
    /// Writes the top-level variable `name`. A variable that panics leaves out what it
    /// wrote (and is reported as the format reports failures); the document stays whole.
    fn variable(&mut self, name: &str, var: &dyn Var);
    /// Whether the document holds all it may: the variables after are left out.
    fn is_full(&self) -> bool {
        false
    }
    /// Closes the document.
    fn finish(self) -> Self::Output;
}

/// Writes `vars`, in order, into `document`: the one place a whole document is
/// rendered, so every format reads the process statistics once per document.
pub(crate) fn render<D: Document>(
    vars: &[(impl AsRef<str>, VarRef)],
    mut document: D,
) -> D::Output {
    let _one_reading = document_scope();
    for (name, var) in vars {
        if document.is_full() {
            break;
        }
        document.variable(name.as_ref(), &**var);
    }
    document.finish()
}

/// Appends `parts` to `out`, one after another, with one check of its capacity.
#[inline(always)]
pub(crate) fn append<const N: usize>(out: &mut Vec<u8>, parts: &[&[u8]; N]) {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    out.reserve(len);
    let mut end = out.len();
    for part in parts {
        // SAFETY: `reserve` made room for every part after `len()`; the bytes written
        // are initialized before the length covers them.
        unsafe {
            std::ptr::copy_nonoverlapping(part.as_ptr(), out.as_mut_ptr().add(end), part.len());
        }
        end += part.len();
    }
    // SAFETY: every byte up to `end` was written above.
    unsafe { out.set_len(end) };
}

/// Appends `value` in decimal, written in place: formatting into a buffer of its own and
/// copying it out (`itoa`) stalls on reading back bytes just stored, which made up a
/// third of a map of counters' scrape.
#[inline]
pub(crate) fn push_u64(out: &mut Vec<u8>, value: u64) {
    const PAIRS: &[u8; 200] = b"\
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let len = value.checked_ilog10().map_or(1, |log| log as usize + 1);
    out.reserve(20);
    let start = out.len();
    // SAFETY: `reserve` made room for 20 bytes, the most a `u64` takes; digits are
    // written backwards from `start + len` down to `start`, each once, before the
    // length covers them. Every pair read is inside `PAIRS` (`pair` < 100).
    unsafe {
        let mut at = out.as_mut_ptr().add(start + len);
        let mut rest = value;
        while rest >= 100 {
            let pair = (rest % 100) as usize;
            rest /= 100;
            at = at.sub(2);
            std::ptr::copy_nonoverlapping(PAIRS.as_ptr().add(pair * 2), at, 2);
        }
        if rest >= 10 {
            at = at.sub(2);
            std::ptr::copy_nonoverlapping(PAIRS.as_ptr().add(rest as usize * 2), at, 2);
        } else {
            at = at.sub(1);
            at.write(b'0' + rest as u8);
        }
        debug_assert_eq!(at, out.as_mut_ptr().add(start));
        out.set_len(start + len);
    }
}

/// Follows a value that a view leaves out (a metrics-only value in JSON), through the
/// objects and maps inside it, for the encoders that drop such values.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Skip {
    /// 0: nothing left out; 1: the next value is; more: that many open levels of it.
    depth: usize,
}

impl Skip {
    /// Leaves out the value about to be written (unless one is being left out already).
    pub(crate) fn next_value(&mut self) {
        if self.depth == 0 {
            self.depth = 1;
        }
    }

    /// Whether a value is being left out.
    pub(crate) fn active(self) -> bool {
        self.depth > 0
    }

    /// A scalar arrives: whether it is left out (it ends the skip if it is the value).
    pub(crate) fn scalar(&mut self) -> bool {
        match self.depth {
            0 => false,
            1 => {
                self.depth = 0;
                true
            }
            _ => true,
        }
    }

    /// An object or map begins: whether it is left out.
    pub(crate) fn begin(&mut self) -> bool {
        if self.depth > 0 {
            self.depth += 1;
        }
        self.depth > 0
    }

    /// An object or map ends: whether it was left out (the skip ends with the value).
    pub(crate) fn end(&mut self) -> bool {
        match self.depth {
            0 => false,
            2 => {
                self.depth = 0;
                true
            }
            _ => {
                self.depth -= 1;
                true
            }
        }
    }

    /// Forgets the value being left out (a variable that panicked midway).
    pub(crate) fn reset(&mut self) {
        self.depth = 0;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_written_as_itoa_writes_them() {
        let mut out = b"x".to_vec();
        for value in [
            0, 7, 9, 10, 42, 99, 100, 101, 999, 1_000, 12_345, 99_999_999,
        ]
        .into_iter()
        .chain([10_u64.pow(19), u64::MAX - 1, u64::MAX])
        {
            out.truncate(1);
            super::push_u64(&mut out, value);
            assert_eq!(&out[1..], itoa::Buffer::new().format(value).as_bytes());
        }
    }
}
