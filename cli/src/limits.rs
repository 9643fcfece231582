//! How much of a target's document is read: at most so many bytes, and at most so many
//! values, counted before the document is built in memory, so a hostile or runaway
//! target costs a bounded read and never a document-sized tree.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The default of `--max-bytes`: 16 MiB, far above any real `/debug/vars`.
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;
/// The default of `--max-values`: 50,000 numbers, strings and booleans.
pub const DEFAULT_MAX_VALUES: usize = 50_000;

/// The bounds of one target's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of a response body read.
    pub max_bytes: usize,
    /// The most values (numbers, strings and booleans outside arrays) in a document:
    /// each is at most one row of `watch` and about one series of `export`.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_values: DEFAULT_MAX_VALUES,
        }
    }
}

/// The limit a document went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The response is longer than `--max-bytes`.
    Bytes(usize),
    /// The document holds more values than `--max-values`.
    Values(usize),
}

impl Over {
    /// The limit's short name: `bytes` or `values` (the `limit` label of
    /// `expvar_target_over_limit`).
    pub fn name(self) -> &'static str {
        match self {
            Over::Bytes(_) => "bytes",
            Over::Values(_) => "values",
        }
    }
}

impl fmt::Display for Over {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Over::Bytes(limit) if limit % (1 << 20) == 0 => {
                write!(f, "too large: over {} MiB (--max-bytes)", limit >> 20)
            }
            Over::Bytes(limit) => write!(f, "too large: over {limit} bytes (--max-bytes)"),
            Over::Values(limit) => write!(f, "too large: over {limit} values (--max-values)"),
        }
    }
}

/// Checks that the JSON in `body` holds at most `max_values` values, without building
/// it: `Ok(false)` when it holds more. Malformed JSON is left for the parser to report
/// (`Ok(true)`), so its message is the parser's.
///
/// ```
/// use expvar_cli::limits::within_values;
///
/// let doc = br#"{"a": 1, "b": {"c": "x", "d": true}, "e": [1, 2, 3], "f": null}"#;
/// assert!(within_values(doc, 3));
/// assert!(!within_values(doc, 2));
/// ```
pub fn within_values(body: &[u8], max_values: usize) -> bool {
    let over = Cell::new(false);
    let count = Count {
        left: &Cell::new(max_values),
        over: &over,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let _ = count.deserialize(&mut deserializer);
    !over.get()
}

/// Counts values down from a budget; sets `over` and stops once it is spent.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Count<'_> {
    fn take<E: de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("over the value limit"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.take()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.take()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.take()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.take()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.take()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    /// Arrays are neither rows nor series (Go's `PauseNs`, `BySize`): skipped, and
    /// bounded by the byte limit.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stop_at_the_limit_without_reading_on() {
        let mut big = String::from("{");
        for index in 0..10_000 {
            big.push_str(&format!("\"k{index}\": {index},"));
        }
        big.push_str("\"last\": 0}");
        assert!(within_values(big.as_bytes(), 10_001));
        assert!(!within_values(big.as_bytes(), 10_000));
        // Nested objects count their leaves; a scalar document is one value.
        assert!(within_values(br#"{"a": {"b": {"c": 1}}}"#, 1));
        assert!(within_values(b"7", 1));
        assert!(!within_values(b"7", 0));
        // Not JSON: left for the parser to say so.
        assert!(within_values(b"{nope", 0));
    }

    #[test]
    fn messages_name_the_flag() {
        assert_eq!(
            Over::Bytes(1024).to_string(),
            "too large: over 1024 bytes (--max-bytes)"
        );
        assert_eq!(
            Over::Bytes(DEFAULT_MAX_BYTES).to_string(),
            "too large: over 16 MiB (--max-bytes)"
        );
        assert_eq!(Over::Values(5).name(), "values");
    }
}
