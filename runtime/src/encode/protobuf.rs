//! A protobuf wire-format writer: the few encodings the protobuf exposition and the
//! pushers write, by hand instead of a code generator and its runtime.
//!
//! Messages are written into one growing buffer. A nested message (or a packed
//! repeated field) is opened with [`Protobuf::begin`], which reserves one byte for its
//! length, and closed with [`Protobuf::end`], which writes the length there; only a
//! message of 128 bytes or more needs a longer length, and then its bytes move up to
//! make room. So nesting costs no allocation and no second pass over the data: the
//! buffer and its capacity are reused from message to message (see
//! [`Protobuf::clear`]).
//!
//! Wire format: <https://protobuf.dev/programming-guides/encoding/>.
//!
//! Fields are written in the order they are called, whatever their value: proto2's
//! `optional` fields are written even when zero, and proto3 callers skip defaults
//! themselves where they want the shortest message.

/// Wire types (the low three bits of a tag).
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// A protobuf message (or a stream of length-delimited messages) being written.
#[derive(Debug, Default, Clone)]
pub(crate) struct Protobuf {
    buf: Vec<u8>,
    /// Messages open now, to check that they are closed innermost first.
    depth: u32,
}

/// An open nested message or packed field: pass it back to [`Protobuf::end`].
#[must_use = "a nested message must be closed with `Protobuf::end`"]
#[derive(Debug)]
pub(crate) struct Nested {
    /// Where the reserved length byte is.
    at: usize,
    depth: u32,
}

impl Protobuf {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Protobuf::default()
    }

    /// A writer that appends to `buf` (its capacity is reused).
    pub(crate) fn with_buffer(buf: Vec<u8>) -> Self {
        Protobuf { buf, depth: 0 }
    }

    /// What was written.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer, for sending.
    pub(crate) fn into_inner(self) -> Vec<u8> {
        debug_assert_eq!(self.depth, 0, "a nested message was left open");
        self.buf
    }

    /// The number of bytes written.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after the first `len` bytes (from [`len`](Self::len)),
    /// with the messages opened since (their [`Nested`] must not be ended).
    pub(crate) fn truncate(&mut self, len: usize, depth: u32) {
        self.buf.truncate(len);
        self.depth = depth;
    }

    /// How many messages are open (for [`truncate`](Self::truncate)).
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    /// Empties the writer, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.depth = 0;
    }

    /// A varint field: `uint64`, `uint32`, `bool` or a non-negative `enum`.
    #[inline]
    pub(crate) fn uint64(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    /// An `int64` or `int32` field (a negative value takes ten bytes, as the format says).
    #[inline]
    pub(crate) fn int64(&mut self, field: u32, value: i64) {
        self.uint64(field, value as u64);
    }

    /// A `sint64` or `sint32` field: zigzag, so small negative values stay short.
    #[inline]
    pub(crate) fn sint64(&mut self, field: u32, value: i64) {
        self.uint64(field, zigzag(value));
    }

    /// A `bool` field.
    #[inline]
    pub(crate) fn bool(&mut self, field: u32, value: bool) {
        self.uint64(field, u64::from(value));
    }

    /// A `double` field.
    #[inline]
    pub(crate) fn double(&mut self, field: u32, value: f64) {
        self.fixed64(field, value.to_bits());
    }

    /// A `fixed64` or `sfixed64` field.
    #[inline]
    pub(crate) fn fixed64(&mut self, field: u32, value: u64) {
        self.tag(field, FIXED64);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A `fixed32`, `sfixed32` or `float` field (pass `f32::to_bits`).
    #[inline]
    pub(crate) fn fixed32(&mut self, field: u32, value: u32) {
        self.tag(field, FIXED32);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A `string` field.
    #[inline]
    pub(crate) fn string(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    /// Bytes already encoded (fields, or whole messages of a stream), as they are.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A `bytes` field.
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// Opens a nested message (or a packed repeated field) as field `field`; write its
    /// fields (or its packed values), then [`end`](Self::end) it.
    #[inline]
    pub(crate) fn begin(&mut self, field: u32) -> Nested {
        self.tag(field, LEN);
        self.begin_delimited()
    }

    /// Opens a message preceded by its length and no tag: one message of a
    /// length-delimited stream (Java's `writeDelimitedTo`, Go's `pbutil.WriteDelimited`).
    #[inline]
    pub(crate) fn begin_delimited(&mut self) -> Nested {
        let at = self.buf.len();
        self.buf.push(0);
        self.depth += 1;
        Nested {
            at,
            depth: self.depth,
        }
    }

    /// Closes `nested`, which must be the innermost message still open.
    #[inline]
    pub(crate) fn end(&mut self, nested: Nested) {
        debug_assert_eq!(
            nested.depth, self.depth,
            "nested messages closed out of order"
        );
        self.depth -= 1;
        let content = nested.at + 1;
        let len = self.buf.len() - content;
        if len < 0x80 {
            self.buf[nested.at] = len as u8;
        } else {
            self.patch_long_length(nested.at, len);
        }
    }

    /// Writes a length of two bytes or more at `at`, moving the content up.
    #[cold]
    fn patch_long_length(&mut self, at: usize, len: usize) {
        let width = varint_len(len as u64);
        let content = at + 1;
        let end = self.buf.len();
        self.buf.resize(end + width - 1, 0);
        self.buf.copy_within(content..end, at + width);
        let mut value = len as u64;
        for byte in &mut self.buf[at..at + width] {
            *byte = (value as u8 & 0x7f) | 0x80;
            value >>= 7;
        }
        self.buf[at + width - 1] &= 0x7f;
    }

    /// Writes `field`, then `write`'s fields as one nested message.
    #[inline]
    pub(crate) fn message(&mut self, field: u32, write: impl FnOnce(&mut Self)) {
        let nested = self.begin(field);
        write(self);
        self.end(nested);
    }

    /// A bare varint: an element of a packed `uint64`/`int64`/`enum` field.
    #[inline]
    pub(crate) fn packed_uint64(&mut self, value: u64) {
        self.varint(value);
    }

    /// A bare zigzag varint: an element of a packed `sint64`/`sint32` field.
    #[inline]
    pub(crate) fn packed_sint64(&mut self, value: i64) {
        self.varint(zigzag(value));
    }

    /// Eight bare bytes: an element of a packed `double`/`fixed64` field.
    #[inline]
    pub(crate) fn packed_fixed64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    #[inline]
    fn tag(&mut self, field: u32, wire_type: u32) {
        debug_assert!((1..1 << 29).contains(&field), "field number {field}");
        self.varint(u64::from(field << 3 | wire_type));
    }

    #[inline]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }
}

/// Zigzag: 0, -1, 1, -2, ... become 0, 1, 2, 3, ...
#[inline]
pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Bytes a varint of `value` takes.
#[inline]
pub(crate) fn varint_len(value: u64) -> usize {
    // Every 7 significant bits take a byte; 0 takes one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn written(write: impl FnOnce(&mut Protobuf)) -> String {
        let mut out = Protobuf::new();
        write(&mut out);
        hex(&out.into_inner())
    }

    #[test]
    fn scalars_match_the_reference_encodings() {
        // The examples of https://protobuf.dev/programming-guides/encoding/.
        assert_eq!(written(|w| w.uint64(1, 150)), "089601");
        assert_eq!(written(|w| w.string(2, "testing")), "120774657374696e67");
        assert_eq!(written(|w| w.int64(1, -2)), "08feffffffffffffffff01");
        assert_eq!(written(|w| w.sint64(1, -2)), "0803");
        assert_eq!(written(|w| w.double(1, 1.0)), "09000000000000f03f");
        assert_eq!(written(|w| w.fixed32(5, 1.5f32.to_bits())), "2d0000c03f");
        assert_eq!(written(|w| w.fixed64(3, 1)), "190100000000000000");
        assert_eq!(written(|w| w.bool(4, true)), "2001");
        assert_eq!(written(|w| w.bytes(6, &[])), "3200");
        assert_eq!(written(|w| w.raw(&[0x08, 0x01])), "0801");
        assert_eq!(written(|w| w.uint64(1, u64::MAX)), "08ffffffffffffffffff01");
        // A field number past 15 takes a two-byte tag.
        assert_eq!(written(|w| w.uint64(16, 1)), "800101");
        assert_eq!(written(|w| w.uint64((1 << 29) - 1, 0)), "f8ffffff0f00");
    }

    #[test]
    fn zigzag_and_varint_lengths() {
        for (value, expected) in [
            (0, 0),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i64::from(i32::MAX), 4_294_967_294),
            (i64::from(i32::MIN), 4_294_967_295),
            (i64::MAX, u64::MAX - 1),
            (i64::MIN, u64::MAX),
        ] {
            assert_eq!(zigzag(value), expected, "{value}");
        }
        for (value, len) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::from(u32::MAX), 5),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(value), len, "{value}");
            let mut out = Protobuf::new();
            out.packed_uint64(value);
            assert_eq!(out.len(), len, "{value}");
        }
    }

    #[test]
    fn nested_messages_and_packed_fields() {
        // Test3 { Test1 c = 3 } with Test1.a = 150.
        assert_eq!(
            written(|w| w.message(3, |w| w.uint64(1, 150))),
            "1a03089601"
        );
        // Packed repeated int32 d = 4: [3, 270, 86942].
        let packed = written(|w| {
            let field = w.begin(4);
            for value in [3, 270, 86_942] {
                w.packed_uint64(value);
            }
            w.end(field);
        });
        assert_eq!(packed, "2206038e029ea705");
        let deltas = written(|w| {
            let field = w.begin(13);
            for delta in [1, -1, 0, 2] {
                w.packed_sint64(delta);
            }
            w.end(field);
        });
        assert_eq!(deltas, "6a0402010004");
        let doubles = written(|w| {
            let field = w.begin(2);
            w.packed_fixed64(1.0f64.to_bits());
            w.end(field);
        });
        assert_eq!(doubles, "1208000000000000f03f");
        // An empty message is its tag and a zero length.
        assert_eq!(written(|w| w.message(7, |_| {})), "3a00");
    }

    #[test]
    fn long_messages_move_their_content_up_for_the_length() {
        // Lengths 127, 128, 300 and 20,000 (one, two, two and three length bytes),
        // nested two deep, so both the inner and the outer lengths grow.
        for len in [127usize, 128, 300, 20_000] {
            let text = "x".repeat(len);
            let mut out = Protobuf::new();
            out.uint64(1, 1);
            let outer = out.begin(2);
            let inner = out.begin(3);
            out.string(4, &text);
            out.end(inner);
            out.uint64(5, 7);
            out.end(outer);
            out.uint64(6, 9);
            let bytes = out.into_inner();

            let string_len = 1 + varint_len(len as u64) + len;
            let inner_len = string_len;
            let outer_len = 1 + varint_len(inner_len as u64) + inner_len + 2;
            let mut expected = vec![0x08, 0x01, 0x12];
            push_varint(&mut expected, outer_len as u64);
            expected.push(0x1a);
            push_varint(&mut expected, inner_len as u64);
            expected.push(0x22);
            push_varint(&mut expected, len as u64);
            expected.extend_from_slice(text.as_bytes());
            expected.extend_from_slice(&[0x28, 0x07, 0x30, 0x09]);
            assert_eq!(hex(&bytes), hex(&expected), "{len}");
        }
    }

    #[test]
    fn a_delimited_stream_prefixes_each_message_with_its_length() {
        let mut out = Protobuf::with_buffer(b"head".to_vec());
        for name in ["a", &"b".repeat(200)] {
            let message = out.begin_delimited();
            out.string(1, name);
            out.end(message);
        }
        let bytes = out.into_inner();
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&[0x03, 0x0a, 0x01, b'a']);
        // 1 tag byte + 2 length bytes + 200 = 203: 0xcb 0x01.
        expected.extend_from_slice(&[0xcb, 0x01, 0x0a, 0xc8, 0x01]);
        expected.extend_from_slice("b".repeat(200).as_bytes());
        assert_eq!(hex(&bytes), hex(&expected));
    }

    #[test]
    fn truncate_drops_a_partly_written_message() {
        let mut out = Protobuf::new();
        out.uint64(1, 1);
        let (len, depth) = (out.len(), out.depth());
        let family = out.begin(2);
        out.string(1, "dropped");
        out.truncate(len, depth);
        let _ = family; // abandoned with what it held
        out.message(3, |w| w.uint64(1, 2));
        assert_eq!(hex(&out.into_inner()), "08011a020802");
        let mut reused = Protobuf::new();
        reused.uint64(1, 1);
        reused.clear();
        assert!(reused.is_empty());
    }

    fn push_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
}
