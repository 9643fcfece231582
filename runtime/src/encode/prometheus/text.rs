//! The text formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! Lines are written straight into the output, a family's `HELP`/`TYPE` (and `UNIT`)
//! just before its first sample. A family whose metrics arrive apart records each run of
//! its lines, and the document is then put together so each family appears once, its
//! lines together.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::families::{Family, FamilyType};
use super::format::{FamilyHead, Format, HistogramValue, Labels, Mark, MetricValue, Number, Runs};
use super::names::{push_f64, push_help, push_label_value};
use super::PrometheusFormat;
use crate::encode::{append, push_u64};
use crate::vars::{CounterEntries, Exemplar};

/// The size of the last document, to allocate the next one at once.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The runs and head of this thread's last document, kept for its next one.
    static KEPT: Cell<(Vec<Runs>, Vec<u8>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// A document in text 0.0.4 or OpenMetrics.
pub(crate) struct Text {
    openmetrics: bool,
    /// Headers and lines, in the order they were written.
    out: Vec<u8>,
    /// Per family, where its header and lines are in `out`.
    runs: Vec<Runs>,
    /// What the lines of a map of counters begin with (see `counters`).
    head: Vec<u8>,
}

impl Text {
    pub(crate) fn new(format: PrometheusFormat, families: usize) -> Self {
        let last = LAST_SIZE.load(Relaxed);
        let (mut runs, head) = KEPT.try_with(Cell::take).unwrap_or_default();
        runs.clear();
        runs.reserve(families);
        Text {
            openmetrics: format == PrometheusFormat::OpenMetrics,
            out: Vec::with_capacity(last + last / 8),
            runs,
            head,
        }
    }

    /// Writes one line: the family's name, `suffix`, the labels plus `last` (a label
    /// name and its value, escaped here), and `value`.
    #[inline]
    fn line(
        &mut self,
        index: usize,
        name: &str,
        suffix: &str,
        labels: &Labels<'_>,
        last: Option<(&str, &str)>,
        value: Number,
    ) {
        let out = &mut self.out;
        let start = out.len();
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        if !labels.is_empty() || last.is_some() {
            out.push(b'{');
            out.extend_from_slice(labels.rendered);
            let mut comma = !labels.rendered.is_empty();
            if let Some(extra) = labels.extra {
                push_pair(out, extra, comma);
                comma = true;
            }
            if let Some(last) = last {
                push_pair(out, last, comma);
            }
            out.push(b'}');
        }
        out.push(b' ');
        match value {
            Number::U64(value) => {
                out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes())
            }
            Number::I64(value) => {
                out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes())
            }
            Number::F64(value) => push_f64(out, value),
        }
        out.push(b'\n');
        self.runs[index].add(start..out.len());
    }

    /// Appends `exemplar` to the line just written for family `index`, in OpenMetrics.
    fn exemplar(&mut self, index: usize, exemplar: Option<&Exemplar<'_>>) {
        let (Some(exemplar), true) = (exemplar, self.openmetrics) else {
            return;
        };
        // The line is the last of its family's last run: it ends the output.
        self.out.pop();
        push_exemplar(&mut self.out, exemplar);
        self.out.push(b'\n');
        self.runs[index].end_at(self.out.len());
    }

    /// A histogram's lines: one per bucket, `+Inf`, `_sum` and `_count`; only these
    /// (or `+Inf`, the sum and the count alone) for a native histogram too. OpenMetrics
    /// shows each bucket's latest exemplar, and leaves out a negative sum (a histogram
    /// with negative values has none there).
    fn histogram(
        &mut self,
        index: usize,
        name: &str,
        labels: &Labels<'_>,
        histogram: &HistogramValue<'_>,
    ) {
        let distribution = histogram.distribution;
        let mut le = Vec::with_capacity(24);
        let mut lower = f64::NEG_INFINITY;
        for &(bound, count) in distribution.buckets {
            le.clear();
            push_f64(&mut le, bound);
            let le = std::str::from_utf8(&le).expect("a number is ASCII");
            let exemplar = histogram.exemplar_in(lower, bound);
            lower = bound;
            let last = Some(("le", le));
            self.line(index, name, "_bucket", labels, last, Number::U64(count));
            self.exemplar(index, exemplar);
        }
        let count = Number::U64(distribution.count);
        let exemplar = histogram.exemplar_in(lower, f64::INFINITY);
        let last = Some(("le", "+Inf"));
        self.line(index, name, "_bucket", labels, last, count);
        self.exemplar(index, exemplar);
        if !(self.openmetrics && distribution.sum < 0.0) {
            let sum = Number::F64(distribution.sum);
            self.line(index, name, "_sum", labels, None, sum);
        }
        self.line(index, name, "_count", labels, None, count);
    }
}

impl Format for Text {
    type Output = String;

    fn family(&mut self, index: usize, head: &FamilyHead<'_>) {
        debug_assert_eq!(index, self.runs.len());
        let name = head.family.name.as_str();
        let (suffix, type_name) = match (head.family.kind, self.openmetrics) {
            (FamilyType::Counter, false) => ("_total", "counter"),
            (FamilyType::Info, false) => ("_info", "gauge"),
            (kind, _) => ("", kind.as_str()),
        };
        let out = &mut self.out;
        let start = out.len();
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        push_help(out, head.help, self.openmetrics);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        out.extend_from_slice(type_name.as_bytes());
        out.push(b'\n');
        if let (Some(unit), true) = (head.unit, self.openmetrics) {
            out.extend_from_slice(b"# UNIT ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(unit.as_str().as_bytes());
            out.push(b'\n');
        }
        self.runs.push(Runs::new(start..out.len()));
    }

    fn metric(
        &mut self,
        index: usize,
        family: &Family,
        labels: &Labels<'_>,
        value: MetricValue<'_>,
    ) {
        let name = family.name.as_str();
        match value {
            MetricValue::Counter(value, exemplar) => {
                self.line(index, name, "_total", labels, None, value);
                self.exemplar(index, exemplar);
            }
            MetricValue::Gauge(value) => self.line(index, name, "", labels, None, value),
            MetricValue::Info(value) => {
                let value_label = Some((super::mapping::INFO_LABEL, value));
                self.line(index, name, "_info", labels, value_label, Number::U64(1));
            }
            MetricValue::Histogram(histogram) => {
                self.histogram(index, name, labels, histogram);
            }
        }
    }

    /// One line per entry, as `metric` writes them: the part before the key's value is
    /// the same for every entry, so it is put together once.
    fn counters(
        &mut self,
        index: usize,
        family: &Family,
        labels: &[u8],
        label: &str,
        entries: &mut CounterEntries<'_>,
    ) {
        let head = &mut self.head;
        head.clear();
        head.extend_from_slice(family.name.as_bytes());
        head.extend_from_slice(b"_total{");
        head.extend_from_slice(labels);
        if !labels.is_empty() {
            head.push(b',');
        }
        head.extend_from_slice(label.as_bytes());
        head.extend_from_slice(b"=\"");
        let out = &mut self.out;
        let start = out.len();
        for entry in entries {
            if entry.plain {
                append(out, &[head, entry.key.as_bytes(), b"\"} "]);
            } else {
                out.extend_from_slice(head);
                push_label_value(out, entry.key);
                out.extend_from_slice(b"\"} ");
            }
            push_u64(out, entry.value);
            out.push(b'\n');
        }
        let lines = start..out.len();
        if !lines.is_empty() {
            self.runs[index].add(lines);
        }
    }

    fn mark(&self, families: usize) -> Mark {
        Mark {
            families,
            position: self.out.len(),
        }
    }

    fn roll_back(&mut self, mark: Mark) {
        let start = mark.position;
        self.out.truncate(start);
        self.runs.truncate(mark.families);
        for runs in &mut self.runs {
            runs.roll_back(start);
        }
    }

    fn finish(mut self, _families: &[Family]) -> String {
        let eof: &[u8] = if self.openmetrics { b"# EOF\n" } else { b"" };
        let runs = std::mem::take(&mut self.runs);
        // Families come in the order they were met; only one whose lines came in
        // several runs makes the output need putting together.
        let out = if runs.iter().all(Runs::is_whole) {
            let mut out = self.out;
            out.extend_from_slice(eof);
            out
        } else {
            let mut assembled = Vec::with_capacity(self.out.len() + eof.len());
            for runs in &runs {
                for run in runs.iter() {
                    assembled.extend_from_slice(&self.out[run.clone()]);
                }
            }
            assembled.extend_from_slice(eof);
            assembled
        };
        LAST_SIZE.store(out.len(), Relaxed);
        let _ = KEPT.try_with(|kept| kept.set((runs, self.head)));
        debug_assert!(std::str::from_utf8(&out).is_ok());
        // SAFETY: only whole `&str`s (escaped or not) and ASCII are ever written, and a
        // roll-back cuts at the end of a line.
        unsafe { String::from_utf8_unchecked(out) }
    }
}

/// Appends `name="value"` (the value escaped), after a comma if `comma`.
#[inline]
fn push_pair(out: &mut Vec<u8>, (name, value): (&str, &str), comma: bool) {
    if comma {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    push_label_value(out, value);
    out.push(b'"');
}

/// Appends an OpenMetrics exemplar: ` # {name="value",...} value timestamp`.
fn push_exemplar(out: &mut Vec<u8>, exemplar: &Exemplar<'_>) {
    out.extend_from_slice(b" # {");
    for (at, &pair) in exemplar.labels.iter().enumerate() {
        push_pair(out, pair, at > 0);
    }
    out.extend_from_slice(b"} ");
    push_f64(out, exemplar.value);
    out.push(b' ');
    push_f64(out, exemplar.timestamp);
}
