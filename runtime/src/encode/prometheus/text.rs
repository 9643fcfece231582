//! The text formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! Lines are written straight into the output, a family's `HELP`/`TYPE` (and `UNIT`)
//! just before its first sample. A family whose metrics arrive apart records each run of
//! its lines, and the document is then put together so each family appears once, its
//! lines together.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::families::{Family, FamilyType};
use super::format::{FamilyHead, Format, Labels, Mark, MetricValue, Number};
use super::names::{push_f64, push_help, push_label_value};
use super::PrometheusFormat;
use crate::encode::{append, push_u64};
use crate::vars::{CounterEntries, Distribution};

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

/// Where one family is in the output.
struct Runs {
    /// The header and the first run of lines.
    first: Range<usize>,
    /// Later runs, written after other families' lines.
    more: Vec<Range<usize>>,
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

    /// Records that family `index`'s lines continue with `lines` of `out`.
    #[inline]
    fn extend_run(&mut self, index: usize, lines: Range<usize>) {
        let runs = &mut self.runs[index];
        let run = runs.more.last_mut().unwrap_or(&mut runs.first);
        if run.end == lines.start {
            run.end = lines.end;
        } else {
            runs.more.push(lines);
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
        let line = start..out.len();
        self.extend_run(index, line);
    }

    /// A histogram's lines: one per bucket, `+Inf`, `_sum` and `_count`.
    fn histogram(
        &mut self,
        index: usize,
        name: &str,
        labels: &Labels<'_>,
        distribution: &Distribution<'_>,
    ) {
        let mut le = Vec::with_capacity(24);
        for &(bound, count) in distribution.buckets {
            le.clear();
            push_f64(&mut le, bound);
            let le = std::str::from_utf8(&le).expect("a number is ASCII");
            self.line(
                index,
                name,
                "_bucket",
                labels,
                Some(("le", le)),
                Number::U64(count),
            );
        }
        let count = Number::U64(distribution.count);
        self.line(index, name, "_bucket", labels, Some(("le", "+Inf")), count);
        self.line(
            index,
            name,
            "_sum",
            labels,
            None,
            Number::F64(distribution.sum),
        );
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
        self.runs.push(Runs {
            first: start..out.len(),
            more: Vec::new(),
        });
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
            MetricValue::Counter(value) => self.line(index, name, "_total", labels, None, value),
            MetricValue::Gauge(value) => self.line(index, name, "", labels, None, value),
            MetricValue::Info(value) => {
                let value_label = Some((super::mapping::INFO_LABEL, value));
                self.line(index, name, "_info", labels, value_label, Number::U64(1));
            }
            MetricValue::Histogram(distribution) => {
                self.histogram(index, name, labels, distribution);
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
            self.extend_run(index, lines);
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
            runs.more.retain(|run| run.start < start);
            let run = runs.more.last_mut().unwrap_or(&mut runs.first);
            run.end = run.end.min(start);
        }
    }

    fn finish(mut self, _families: &[Family]) -> String {
        let eof: &[u8] = if self.openmetrics { b"# EOF\n" } else { b"" };
        let runs = std::mem::take(&mut self.runs);
        // Families come in the order they were met; only one whose lines came in
        // several runs makes the output need putting together.
        let out = if runs.iter().all(|runs| runs.more.is_empty()) {
            let mut out = self.out;
            out.extend_from_slice(eof);
            out
        } else {
            let mut assembled = Vec::with_capacity(self.out.len() + eof.len());
            for runs in &runs {
                for run in std::iter::once(&runs.first).chain(&runs.more) {
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
