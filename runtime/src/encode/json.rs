//! The `/debug/vars` document: Go's expvar layout, but always valid JSON.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::{append, failures, push_u64, Document, Skip};
use crate::vars::VarRef;
use crate::vars::{
    CounterEntries, Describe, Distribution, Encode, Exemplar, NativeBuckets, Statistic, Var, View,
    Writer,
};

/// The `/debug/vars` document, as [`render`](super::render) builds it: Go's layout, one
/// object, one variable per line, keys in the order given (the registry sorts them).
pub(crate) struct JsonDocument(JsonEncoder);

/// The size of the last document, to allocate the next one at once.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

impl JsonDocument {
    pub(crate) fn new(vars: usize) -> Self {
        let last = LAST_SIZE.load(Relaxed);
        let mut encoder = JsonEncoder::with_capacity((64 + vars * 32).max(last + last / 8));
        encoder.out.extend_from_slice(b"{\n");
        // The document's own members are one per line; they are a frame like any object's.
        encoder.first_member.push(true);
        JsonDocument(encoder)
    }
}

impl Document for JsonDocument {
    type Output = String;

    fn variable(&mut self, name: &str, var: &dyn Var) {
        let encoder = &mut self.0;
        encoder.begin_member(b",\n");
        write_escaped(&mut encoder.out, name);
        encoder.out.extend_from_slice(b": ");
        encoder.write_isolated(name, var);
    }

    fn finish(mut self) -> String {
        self.0.out.extend_from_slice(b"\n}\n");
        LAST_SIZE.store(self.0.out.len(), Relaxed);
        self.0.into_string()
    }
}

/// Renders one variable as compact JSON, in the same style as `/debug/vars`.
///
/// Useful in tests and for logging a variable's value.
///
/// ```
/// let hits = expvar::Map::<expvar::Counter>::new();
/// hits.add("success", 5);
/// hits.add("fail", 2);
/// assert_eq!(expvar::render_json(&hits), r#"{"fail": 2, "success": 5}"#);
/// ```
pub fn render_json(var: &dyn Var) -> String {
    let mut encoder = JsonEncoder::with_capacity(64);
    encoder.write_isolated("", var);
    encoder.into_string()
}

struct JsonEncoder {
    out: Vec<u8>,
    /// One entry per open object or map: whether it has no member yet.
    first_member: Vec<bool>,
    /// Where the member being written starts, and whether it was its object's first:
    /// a value shown only in the metric views takes its member back out.
    member: (usize, bool),
    /// A metrics-only value being left out.
    skip: Skip,
    /// The top-level name being written, for failure reports.
    current: String,
}

thread_local! {
    /// The frames and name buffer of this thread's last document, kept for its next one.
    static KEPT: Cell<(Vec<bool>, String)> = const { Cell::new((Vec::new(), String::new())) };
}

impl JsonEncoder {
    fn with_capacity(capacity: usize) -> Self {
        let (mut first_member, current) = KEPT.try_with(Cell::take).unwrap_or_default();
        first_member.clear();
        JsonEncoder {
            out: Vec::with_capacity(capacity),
            first_member,
            member: (0, false),
            skip: Skip::default(),
            current,
        }
    }

    /// Writes `var`; if it panics, its partial output is replaced by `null`.
    fn write_isolated(&mut self, name: &str, var: &dyn Var) {
        let start = self.out.len();
        let depth = self.first_member.len();
        name.clone_into(&mut self.current);
        let result = failures::catch_render(|| var.write(Writer::new(self)));
        if let Err(panic) = result {
            self.out.truncate(start);
            self.first_member.truncate(depth);
            self.skip.reset();
            let message = failures::panic_message(&*panic);
            self.fail(&format_args!("panicked: {message}"));
        }
    }

    fn into_string(self) -> String {
        let _ = KEPT.try_with(|kept| kept.set((self.first_member, self.current)));
        debug_assert!(std::str::from_utf8(&self.out).is_ok());
        // SAFETY: only UTF-8 is ever written: whole `&str`s, escaped or not, and ASCII
        // numbers and punctuation.
        unsafe { String::from_utf8_unchecked(self.out) }
    }

    /// Starts a member of the innermost object, after `separator` unless it is the first.
    fn begin_member(&mut self, separator: &[u8]) {
        let start = self.out.len();
        if let Some(first) = self.first_member.last_mut() {
            let was_first = std::mem::replace(first, false);
            self.member = (start, was_first);
            if !was_first {
                self.out.extend_from_slice(separator);
            }
        }
    }

    /// Takes the member being written back out and leaves its value out.
    fn drop_member(&mut self) {
        let (start, was_first) = self.member;
        self.out.truncate(start);
        if let Some(first) = self.first_member.last_mut() {
            *first = was_first;
        }
        self.skip.next_value();
    }
}

impl Encode for JsonEncoder {
    fn describe(&mut self, fact: Describe<'_>) {
        if let Describe::View(View::Metrics) = fact {
            if !self.skip.active() {
                self.drop_member();
            }
        }
    }

    fn counter(&mut self, value: u64) {
        if self.skip.scalar() {
            return;
        }
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn counter_f64(&mut self, value: f64) {
        if self.skip.scalar() {
            return;
        }
        write_float(&mut self.out, value);
    }

    fn gauge(&mut self, value: i64) {
        if self.skip.scalar() {
            return;
        }
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn float(&mut self, value: f64) {
        if self.skip.scalar() {
            return;
        }
        write_float(&mut self.out, value);
    }

    fn str(&mut self, value: &str) {
        if self.skip.scalar() {
            return;
        }
        write_escaped(&mut self.out, value);
    }

    fn bool(&mut self, value: bool) {
        if self.skip.scalar() {
            return;
        }
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn null(&mut self) {
        if self.skip.scalar() {
            return;
        }
        self.out.extend_from_slice(b"null");
    }

    fn distribution(
        &mut self,
        distribution: &Distribution<'_>,
        _native: Option<&NativeBuckets<'_>>,
        _exemplars: &[Exemplar<'_>],
    ) {
        if self.skip.scalar() {
            return;
        }
        self.begin_object();
        distribution.for_each_statistic(|name, statistic, value| {
            self.field(name);
            match statistic {
                Statistic::Count => self.counter(value as u64),
                Statistic::Sum | Statistic::Value => self.float(value),
            }
        });
        self.end_object();
    }

    fn json(&mut self, value: &serde_json::Value) {
        if self.skip.scalar() {
            return;
        }
        // A `Value` holds no NaN and has string keys, so this cannot fail.
        serde_json::to_writer(&mut self.out, value).expect("serializing a JSON value");
    }

    fn fail(&mut self, reason: &dyn std::fmt::Display) {
        failures::record_failure(&self.current, reason);
        self.null();
    }

    fn begin_object(&mut self) {
        if self.skip.begin() {
            return;
        }
        self.out.push(b'{');
        self.first_member.push(true);
    }

    fn field(&mut self, name: &str) {
        if self.skip.active() {
            return;
        }
        self.begin_member(b", ");
        write_escaped(&mut self.out, name);
        self.out.extend_from_slice(b": ");
    }

    fn end_object(&mut self) {
        if self.skip.end() {
            return;
        }
        self.first_member.pop();
        self.out.push(b'}');
    }

    fn begin_map(&mut self, _label: &str) {
        self.begin_object();
    }

    fn entry(&mut self, key: &str) {
        self.field(key);
    }

    fn end_map(&mut self) {
        self.end_object();
    }

    /// As `entry(key)` then `counter(value)` for each, without a check per entry for a
    /// value being left out: counters are in every view.
    fn counter_entries(&mut self, entries: &mut CounterEntries<'_>) {
        if self.skip.active() {
            return;
        }
        let Some(first) = entries.next() else {
            return;
        };
        self.begin_member(b", ");
        write_escaped(&mut self.out, first.key);
        self.out.extend_from_slice(b": ");
        push_u64(&mut self.out, first.value);
        // Every later entry follows another: `, "key": value`.
        for entry in entries {
            let out = &mut self.out;
            self.member = (out.len(), false);
            if entry.plain {
                append(out, &[b", \"", entry.key.as_bytes(), b"\": "]);
            } else {
                out.extend_from_slice(b", ");
                write_escaped(out, entry.key);
                out.extend_from_slice(b": ");
            }
            push_u64(out, entry.value);
        }
    }
}

/// Writes a JSON number, or `null` for NaN and infinities, which JSON cannot express.
fn write_float(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Writes `value` as a JSON string: quotes, backslashes and control characters escaped,
/// everything else (non-ASCII included) as UTF-8.
pub(crate) fn write_escaped(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = value.as_bytes();
    // Most keys and names need nothing escaped: one copy, checked once.
    if !bytes
        .iter()
        .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
    {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut clean_from = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean_from..index]);
        out.extend_from_slice(escape);
        clean_from = index + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// A variable shows itself as its current JSON: `VarRef({"hits": 2})`.
impl std::fmt::Debug for VarRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VarRef(")?;
        f.write_str(&render_json(&**self))?;
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = Vec::new();
        write_escaped(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(escaped("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(escaped("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(escaped("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        assert_eq!(escaped("héllo ✓"), "\"héllo ✓\"");
        let round_trip: String = serde_json::from_str(&escaped("x\u{1}\"\\y\u{7f}é")).unwrap();
        assert_eq!(round_trip, "x\u{1}\"\\y\u{7f}é");
    }

    #[test]
    fn non_finite_floats_are_null() {
        let mut out = Vec::new();
        write_float(&mut out, f64::NAN);
        out.push(b' ');
        write_float(&mut out, f64::NEG_INFINITY);
        out.push(b' ');
        write_float(&mut out, 0.25);
        assert_eq!(out, b"null null 0.25");
    }
}
