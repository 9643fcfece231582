//! Exemplars: one sample of a series kept with labels that lead to where it came from,
//! typically the trace of a slow request.
//!
//! A [`Counter`](crate::Counter) keeps its latest exemplar, a
//! [`Histogram`](crate::Histogram) the latest of each bucket. They reach OpenMetrics
//! (`# {trace_id="..."} 0.42 1700000000.123` after a sample) and the protobuf
//! exposition; text 0.0.4 has no place for them.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The most characters (code points) an exemplar's label names and values may have
/// together, as OpenMetrics allows.
pub const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

/// An exemplar as plain data: what a variable hands the encoders, next to a counter
/// ([`Writer::counter_with_exemplar`](crate::Writer::counter_with_exemplar)) or a
/// distribution ([`Writer::distribution_with`](crate::Writer::distribution_with)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar<'a> {
    /// Labels such as `trace_id` and `span_id`: valid label names, at most
    /// [`MAX_EXEMPLAR_LABEL_CHARS`] characters of names and values together.
    pub labels: &'a [(&'a str, &'a str)],
    /// The value observed (for a counter, the increment).
    pub value: f64,
    /// When, in seconds since the Unix epoch.
    pub timestamp: f64,
}

/// Why an exemplar was refused. The value itself is still counted or recorded; only
/// the exemplar is dropped (and counted in [`refused_exemplars`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExemplarError {
    /// Label names and values have more than [`MAX_EXEMPLAR_LABEL_CHARS`] characters.
    TooLong {
        /// How many they have.
        chars: usize,
    },
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    BadName(String),
}

impl fmt::Display for ExemplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExemplarError::TooLong { chars } => write!(
                f,
                "exemplar labels have {chars} characters, more than the \
                 {MAX_EXEMPLAR_LABEL_CHARS} OpenMetrics allows"
            ),
            ExemplarError::BadName(name) => {
                write!(f, "exemplar label name `{name}` is not a valid label name")
            }
        }
    }
}

impl std::error::Error for ExemplarError {}

static REFUSED: AtomicU64 = AtomicU64::new(0);

/// How many exemplars this process refused (too long, or a bad label name); the first
/// is also logged with `log::warn!`.
pub fn refused_exemplars() -> u64 {
    REFUSED.load(Relaxed)
}

/// Checks `labels` against OpenMetrics' rules for exemplars.
pub(crate) fn validate(labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
    let mut chars = 0;
    for (name, value) in labels {
        if !is_label_name(name) {
            return Err(ExemplarError::BadName((*name).to_owned()));
        }
        chars += name.chars().count() + value.chars().count();
    }
    if chars > MAX_EXEMPLAR_LABEL_CHARS {
        return Err(ExemplarError::TooLong { chars });
    }
    Ok(())
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// Counts and logs (once) a refused exemplar, and hands the error back.
#[cold]
fn refuse(error: ExemplarError) -> ExemplarError {
    REFUSED.fetch_add(1, Relaxed);
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Relaxed) {
        log::warn!("expvar: an exemplar was refused: {error} (logged once per process)");
    }
    error
}

/// The current time as an exemplar timestamp.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The latest exemplar of one series or bucket.
///
/// Writers only try the lock: when two record at once, one exemplar is dropped rather
/// than a thread waiting (either is "the latest"). The text is kept in buffers that
/// are reused, so after the first exemplar keeping one allocates only when it is longer
/// than any before.
#[derive(Default)]
pub(crate) struct ExemplarSlot {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    set: bool,
    /// Names and values, one after the other.
    text: String,
    /// Per label: where its name ends and where its value ends in `text`.
    ends: Vec<(usize, usize)>,
    value: f64,
    timestamp: f64,
}

impl ExemplarSlot {
    /// Keeps an exemplar of `value` with `labels`, now, if the labels are valid.
    pub(crate) fn keep(&self, labels: &[(&str, &str)], value: f64) -> Result<(), ExemplarError> {
        validate(labels).map_err(refuse)?;
        let timestamp = now();
        let mut kept = match self.kept.try_lock() {
            Ok(kept) => kept,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(()),
        };
        kept.text.clear();
        kept.ends.clear();
        for (name, label_value) in labels {
            kept.text.push_str(name);
            let name_end = kept.text.len();
            kept.text.push_str(label_value);
            let value_end = kept.text.len();
            kept.ends.push((name_end, value_end));
        }
        kept.value = value;
        kept.timestamp = timestamp;
        kept.set = true;
        Ok(())
    }

    /// A copy of the exemplar kept, if any.
    pub(crate) fn read(&self) -> Option<OwnedExemplar> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if !kept.set {
            return None;
        }
        let mut labels = Vec::with_capacity(kept.ends.len());
        let mut start = 0;
        for &(name_end, value_end) in &kept.ends {
            labels.push((
                kept.text[start..name_end].to_owned(),
                kept.text[name_end..value_end].to_owned(),
            ));
            start = value_end;
        }
        Some(OwnedExemplar {
            labels,
            value: kept.value,
            timestamp: kept.timestamp,
        })
    }
}

/// An [`Exemplar`] that owns its labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnedExemplar {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    pub(crate) timestamp: f64,
}

impl OwnedExemplar {
    /// Borrowed label pairs, for [`as_exemplar`](Self::as_exemplar).
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    /// The plain-data form, given the pairs from [`pairs`](Self::pairs).
    pub(crate) fn as_exemplar<'a>(&self, pairs: &'a [(&'a str, &'a str)]) -> Exemplar<'a> {
        Exemplar {
            labels: pairs,
            value: self.value,
            timestamp: self.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_as_openmetrics_says() {
        assert!(validate(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]).is_ok());
        assert!(validate(&[]).is_ok());
        assert_eq!(
            validate(&[("trace-id", "x")]),
            Err(ExemplarError::BadName("trace-id".into()))
        );
        assert_eq!(
            validate(&[("", "x")]),
            Err(ExemplarError::BadName(String::new()))
        );
        assert!(validate(&[("9a", "x")]).is_err());
        // 128 characters exactly is fine, 129 is not; characters, not bytes.
        let value = "é".repeat(127);
        assert!(validate(&[("a", &value)]).is_ok());
        let longer = "é".repeat(128);
        assert_eq!(
            validate(&[("a", &longer)]),
            Err(ExemplarError::TooLong { chars: 129 })
        );
    }

    #[test]
    fn a_slot_keeps_the_latest_and_counts_refusals() {
        let slot = ExemplarSlot::default();
        assert_eq!(slot.read(), None);
        slot.keep(&[("trace_id", "a")], 1.0).unwrap();
        slot.keep(&[("trace_id", "b"), ("span_id", "c")], 2.5)
            .unwrap();
        let before = refused_exemplars();
        assert!(slot.keep(&[("bad name", "x")], 3.0).is_err());
        assert!(refused_exemplars() > before);
        let kept = slot.read().unwrap();
        assert_eq!(kept.pairs(), [("trace_id", "b"), ("span_id", "c")]);
        assert_eq!(kept.value, 2.5);
        assert!(kept.timestamp > 1.6e9);
        let pairs = kept.pairs();
        assert_eq!(kept.as_exemplar(&pairs).labels.len(), 2);
    }
}
