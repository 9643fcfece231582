//! The mapping behind `/metrics`: what variables write, as Prometheus families and
//! metrics, handed to a [`Format`] that lays them out.
//!
//! A value's family name is its path (`variable_field_field`, after the namespace)
//! unless the value names itself ([`Writer::metric_name`](crate::vars::Writer::metric_name));
//! its labels are the constant labels, one per enclosing map (the map's label, the
//! entry's key) and those the value describes. Nothing here knows a variable by name,
//! and no format decides a name or a label: every format carries the same series.
//!
//! About 850 lines on purpose: the mapping's state and the `Encode` methods that
//! drive it are one state machine, easier to check side by side.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use once_cell::sync::Lazy;

use super::families::{push_readable, readable, Families, FamilyType, Refusal};
use super::format::{FamilyHead, Format, HistogramValue, Labels, MetricValue, Number};
use super::names::{label_name_into, push_label, push_name, NameStack};
use super::PrometheusOptions;
use crate::encode::{failures, Document};
use crate::vars::exemplar;
use crate::vars::{
    CounterEntries, Describe, Distribution, Encode, Exemplar, NativeBuckets, Unit, Var, View,
    Writer,
};

/// The label a string value becomes on its `_info` series.
pub(crate) const INFO_LABEL: &str = "value";

/// Labels the formats give histogram and summary samples: no other series may use
/// them (promtool and scrapers read `le` as a bucket bound wherever it appears).
const SAMPLE_LABELS: &[&str] = &["le", "quantile"];

/// One open object or map.
struct Frame {
    path_len: usize,
    path_start: usize,
    owner_len: usize,
    named_from: Option<usize>,
    labels_len: usize,
    label_names_len: usize,
    /// Whether this is a map, whose entries' label is `label_names[label_names_len]`.
    map: bool,
    /// The family a value written right at this frame's path went to: every entry of
    /// a map of counters has the same one, found once rather than once per entry.
    family: Option<(FamilyType, usize)>,
}

/// The `/metrics` document in `format`, as [`render`](crate::encode::render) builds it:
/// the variables, then the document's own `build_info`.
pub(crate) struct Mapping<'o, F> {
    options: &'o PrometheusOptions,
    format: F,
    families: Families,
    /// The family name of the value being written is `path[path_start..]`: a value
    /// that names itself starts its name afresh.
    path: String,
    path_start: usize,
    /// The unsanitised path of the value being written, each segment length-prefixed
    /// (`4:dupe1:y`) so that no character a name may hold can make two paths alike.
    owner: String,
    /// Where in `owner` the innermost value that named itself is.
    named_from: Option<usize>,
    /// Who owns the families the value writes, made from `owner` (see `owner_key`).
    owner_key: String,
    /// The family name of the sample being written (`family`'s buffer).
    family_name: String,
    /// Labels of the value being written, rendered `a="x",b="y"`.
    labels: Vec<u8>,
    /// Names of the labels in `labels`.
    label_names: NameStack,
    /// Where a label name is sanitised.
    label_buf: String,
    const_labels_len: usize,
    /// What the value being written said about itself.
    help: Help,
    /// A new family's description (`help`, or made from its owner).
    family_help: String,
    unit: Option<Unit>,
    frames: Vec<Frame>,
    /// While set, values are ignored until the next field or entry at this depth.
    skip_depth: Option<usize>,
    /// The top-level variable being written.
    current: String,
    /// Labels written as `exported_<name>` because a constant label has their name:
    /// `(variable, label)`, for the check at start (`const_label_conflict`).
    pub(super) renamed: Vec<(String, String)>,
}

/// The buffers a mapping works in, kept on the rendering thread from one document to
/// the next: a warm scrape reuses them (family names and claims included) instead of
/// allocating them again.
#[derive(Default)]
struct Scratch {
    families: Families,
    path: String,
    owner: String,
    owner_key: String,
    family_name: String,
    labels: Vec<u8>,
    label_names: NameStack,
    label_buf: String,
    help: String,
    family_help: String,
    frames: Vec<Frame>,
    current: String,
}

/// What the value being written said about itself, in a string kept between values.
struct Help {
    text: String,
    given: bool,
}

impl Help {
    fn set(&mut self, text: &str) {
        text.clone_into(&mut self.text);
        self.given = true;
    }
}

thread_local! {
    static SCRATCH: Cell<Option<Scratch>> = const { Cell::new(None) };
}

impl<'o, F: Format> Mapping<'o, F> {
    pub(crate) fn new(options: &'o PrometheusOptions, format: F, vars: usize) -> Self {
        // A document rendered inside another (a variable that renders one) starts afresh.
        let mut scratch = SCRATCH
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default();
        scratch.families.clear();
        scratch.families.list.reserve(vars * 2);
        scratch.labels.clear();
        scratch.label_names.truncate(0);
        scratch.frames.clear();
        for (name, value) in options.valid_const_labels() {
            push_label(&mut scratch.labels, name, value);
            scratch.label_names.push(name);
        }
        Mapping {
            options,
            format,
            families: scratch.families,
            path: scratch.path,
            path_start: 0,
            owner: scratch.owner,
            named_from: None,
            owner_key: scratch.owner_key,
            family_name: scratch.family_name,
            const_labels_len: scratch.labels.len(),
            labels: scratch.labels,
            label_names: scratch.label_names,
            label_buf: scratch.label_buf,
            help: Help {
                text: scratch.help,
                given: false,
            },
            family_help: scratch.family_help,
            unit: None,
            frames: scratch.frames,
            skip_depth: None,
            current: scratch.current,
            renamed: Vec::new(),
        }
    }

    /// Writes the top-level variable `name`; if it panics, everything it wrote is
    /// removed and the failure recorded, like a `null` in JSON.
    pub(super) fn variable(&mut self, name: &str, var: &dyn Var) {
        let mark = self.format.mark(self.families.list.len());
        name.clone_into(&mut self.current);
        self.reset();
        if !self.options.namespace.is_empty() {
            self.path.push_str(&self.options.namespace);
        }
        self.push_segment(name);
        let result = failures::catch_render(|| var.write(Writer::new(self)));
        if let Err(panic) = result {
            self.format.roll_back(mark);
            self.families.roll_back(mark.families);
            let message = failures::panic_message(&*panic);
            failures::record_failure(name, &format_args!("panicked: {message}"));
        }
    }

    /// The document's own series: `build_info`, whose labels carry the versions.
    fn build_info(&mut self) {
        self.reset();
        if let Some(version) = &self.options.version {
            push_label(&mut self.labels, "version", version);
        }
        push_label(
            &mut self.labels,
            "expvar_version",
            env!("CARGO_PKG_VERSION"),
        );
        "build_info".clone_into(&mut self.path);
        // No variable's path can be `=`: the document owns this family.
        "=".clone_into(&mut self.owner);
        self.help
            .set("Build information: always 1, the facts are in the labels.");
        self.scalar(FamilyType::Gauge, Number::U64(1));
    }

    fn finish(mut self) -> F::Output {
        self.build_info();
        let output = self.format.finish(&self.families.list);
        let scratch = Scratch {
            families: self.families,
            path: self.path,
            owner: self.owner,
            owner_key: self.owner_key,
            family_name: self.family_name,
            labels: self.labels,
            label_names: self.label_names,
            label_buf: self.label_buf,
            help: self.help.text,
            family_help: self.family_help,
            frames: self.frames,
            current: self.current,
        };
        let _ = SCRATCH.try_with(|kept| kept.set(Some(scratch)));
        output
    }

    fn reset(&mut self) {
        self.path.clear();
        self.path_start = 0;
        self.owner.clear();
        self.named_from = None;
        self.labels.truncate(self.const_labels_len);
        self.label_names.truncate(self.options.const_label_count());
        self.help.given = false;
        self.unit = None;
        self.frames.clear();
        self.skip_depth = None;
    }

    /// The family for the current path, created if new; `None` (and logged once) when
    /// the name is taken by another owner or by another type.
    fn family(&mut self, kind: FamilyType) -> Option<usize> {
        // Right at the frame's own path and owner (a map's entry): the frame's family,
        // once found. Checked first: this runs once per sample.
        let plain = self.unit.is_none() && self.named_from.is_none();
        let at_frame = plain
            && self.frames.last().is_some_and(|frame| {
                frame.path_len == self.path.len()
                    && frame.path_start == self.path_start
                    && frame.owner_len == self.owner.len()
                    && frame.named_from.is_none()
            });
        if at_frame {
            if let Some((known, index)) = self.frames.last().and_then(|frame| frame.family) {
                if known == kind {
                    return Some(index);
                }
            }
        }
        // Built in reused buffers.
        let path = &self.path[self.path_start..];
        let base = match kind.implied_suffix() {
            Some(suffix) => path.strip_suffix(suffix),
            None => None,
        }
        .filter(|base| !base.is_empty())
        .unwrap_or(path);
        if base.is_empty() {
            self.skipped(&"it has no name");
            return None;
        }
        if plain {
            if let Some(index) = self.families.last_if(base, kind, &self.owner) {
                if let Some(frame) = self.frames.last_mut().filter(|_| at_frame) {
                    frame.family = Some((kind, index));
                }
                return Some(index);
            }
        }
        self.family_name.clear();
        self.family_name.push_str(base);
        if let Some(unit) = self.unit {
            let unit = unit.as_str();
            let named_so = self
                .family_name
                .strip_suffix(unit)
                .is_some_and(|rest| rest.ends_with('_'));
            if !named_so {
                self.family_name.push('_');
                self.family_name.push_str(unit);
            }
        }
        if self.named_from.is_some() {
            self.set_owner_key();
        }
        let owner = match self.named_from {
            Some(_) => &self.owner_key,
            None => &self.owner,
        };
        let found = match self.families.find(&self.family_name, kind, owner) {
            Ok(Some(index)) => Some(index),
            Ok(None) => {
                let index = self.families.add(&self.family_name, kind, owner);
                self.family_help.clear();
                if self.help.given {
                    self.family_help.push_str(&self.help.text);
                } else {
                    self.family_help.push_str("expvar variable ");
                    push_readable(&mut self.family_help, &self.owner);
                }
                let head = FamilyHead {
                    family: &self.families.list[index],
                    help: &self.family_help,
                    unit: self.unit,
                };
                self.format.family(index, &head);
                Some(index)
            }
            Err(Refusal::OtherType(other)) => {
                let reason = format!("it is a {} and a {}", other.as_str(), kind.as_str());
                self.skipped(&reason);
                None
            }
            Err(Refusal::Taken { name, owner }) => {
                let reason = format!("the name `{name}` is taken by `{}`", readable(owner));
                self.skipped(&reason);
                None
            }
        };
        if let (Some(index), true) = (found, at_frame) {
            if let Some(frame) = self.frames.last_mut() {
                frame.family = Some((kind, index));
            }
        }
        found
    }

    /// Logs once per variable and reason that a value has no place in the output.
    fn skipped(&self, reason: &dyn fmt::Display) {
        static LOGGED: Lazy<Mutex<HashSet<String>>> = Lazy::new(Mutex::default);
        let what = format!("{}: {reason}", readable(&self.owner));
        let mut logged = LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
        if logged.insert(what.clone()) {
            log::warn!("expvar: /metrics leaves out {what}");
        }
    }

    /// The name a label of the value (a map's, or one it describes) is written under:
    /// its own, or `exported_<name>` when a constant label has its name, as Prometheus
    /// renames a target's label that clashes with its own, so the value keeps its
    /// series instead of being left out. Logged once per variable and label.
    /// Renames `name` to `exported_<name>` when a constant label has it (Prometheus's
    /// own convention), logging it once per variable and label.
    fn own_label(&mut self, name: &mut String) {
        let constants = self.options.const_label_count();
        if !(0..constants).any(|at| self.label_names.get(at) == Some(name.as_str())) {
            return;
        }
        static LOGGED: Lazy<Mutex<HashSet<(String, String)>>> = Lazy::new(Mutex::default);
        let key = (self.current.clone(), name.clone());
        let mut logged = LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
        if logged.insert(key.clone()) {
            log::warn!(
                "expvar: /metrics writes the label `{}` of {:?} as `exported_{}`: a constant \
                 label has that name",
                key.1,
                key.0,
                key.1
            );
        }
        drop(logged);
        name.insert_str(0, "exported_");
        self.renamed.push(key);
    }

    fn skip_value(&mut self, reason: &dyn fmt::Display) {
        self.skipped(reason);
        self.skip_depth = Some(self.frames.len());
    }

    /// Hands one metric of family `index` to the format, with the current labels plus
    /// `extra` (a label name and its value, not escaped yet).
    fn metric(&mut self, index: usize, extra: Option<(&str, &str)>, value: MetricValue<'_>) {
        let labels = Labels {
            rendered: &self.labels,
            extra,
        };
        self.format
            .metric(index, &self.families.list[index], &labels, value);
    }

    fn scalar(&mut self, kind: FamilyType, value: Number) {
        self.scalar_with_exemplar(kind, value, None);
    }

    fn scalar_with_exemplar(
        &mut self,
        kind: FamilyType,
        value: Number,
        exemplar: Option<&Exemplar<'_>>,
    ) {
        if self.skip_depth.is_some() {
            return;
        }
        if let Some(index) = self.family(kind) {
            let value = match kind {
                FamilyType::Counter => MetricValue::Counter(value, exemplar),
                _ => MetricValue::Gauge(value),
            };
            self.metric(index, None, value);
        }
    }

    /// Whether `exemplar` may be shown: label names valid and at most 128 characters
    /// of names and values, a finite value and timestamp; logged once when not.
    fn valid_exemplar(&self, exemplar: &Exemplar<'_>) -> bool {
        let reason = match exemplar::validate(exemplar.labels) {
            Err(error) => error.to_string(),
            Ok(()) if !exemplar.value.is_finite() => "an exemplar value is not finite".into(),
            Ok(()) if !(exemplar.timestamp >= 0.0 && exemplar.timestamp.is_finite()) => {
                "an exemplar timestamp is not a time".into()
            }
            Ok(()) => return true,
        };
        self.skipped(&format_args!("{reason} (the exemplar is left out)"));
        false
    }

    fn string(&mut self, value: &str) {
        if self.skip_depth.is_some() {
            return;
        }
        if self.label_names.contains(INFO_LABEL) {
            self.skipped(&format_args!(
                "its label `{INFO_LABEL}` is the label of a string's value"
            ));
            return;
        }
        if let Some(index) = self.family(FamilyType::Info) {
            self.metric(index, None, MetricValue::Info(value));
        }
    }

    fn json_value(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => {}
            Value::Bool(value) => self.scalar(FamilyType::Gauge, Number::U64(u64::from(*value))),
            Value::Number(number) => {
                let number = if let Some(value) = number.as_u64() {
                    Number::U64(value)
                } else if let Some(value) = number.as_i64() {
                    Number::I64(value)
                } else {
                    Number::F64(number.as_f64().unwrap_or(f64::NAN))
                };
                self.scalar(FamilyType::Gauge, number);
            }
            Value::String(value) => self.string(value),
            Value::Array(_) => {
                if self.skip_depth.is_none() {
                    self.skipped(&"a list has no Prometheus form");
                }
            }
            Value::Object(fields) => {
                let (path_len, owner_len) = (self.path.len(), self.owner.len());
                for (name, value) in fields {
                    self.path.truncate(path_len);
                    self.owner.truncate(owner_len);
                    self.push_segment(name);
                    self.help.given = false;
                    self.unit = None;
                    self.json_value(value);
                }
                self.path.truncate(path_len);
                self.owner.truncate(owner_len);
            }
        }
    }

    /// The owner of what the current value writes is its path (`owner`); for a value
    /// below one that named itself, `owner_key`: the variable's name, `=` and the path below the naming value, so
    /// the variable may write that family from many places (one series per label set)
    /// while two variables still cannot share it.
    fn set_owner_key(&mut self) {
        self.owner_key.clear();
        if let Some(from) = self.named_from {
            let top = self.owner_top_len();
            self.owner_key.push_str(&self.owner[..top]);
            self.owner_key.push('=');
            self.owner_key.push_str(&self.owner[from..]);
        }
    }

    fn push_segment(&mut self, name: &str) {
        self.push_path(name);
        self.owner.push_str(itoa::Buffer::new().format(name.len()));
        self.owner.push(':');
        self.owner.push_str(name);
    }

    /// Appends `name` to the family name, sanitised.
    fn push_path(&mut self, name: &str) {
        if self.path.len() > self.path_start {
            self.path.push('_');
        } else if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            // A name must start with a letter or `_`.
            self.path.push('_');
        }
        push_name(&mut self.path, name);
    }

    /// Starts a field or an entry: back to the enclosing frame's path and labels, no
    /// facts yet; `false` while skipping.
    fn next_member(&mut self) -> bool {
        match self.skip_depth {
            Some(depth) if depth == self.frames.len() => self.skip_depth = None,
            Some(_) => return false,
            None => {}
        }
        if let Some(frame) = self.frames.last() {
            self.path.truncate(frame.path_len);
            self.path_start = frame.path_start;
            self.owner.truncate(frame.owner_len);
            self.named_from = frame.named_from;
            self.labels.truncate(frame.labels_len);
            // A map's own label name stays for all its entries.
            let map_label = usize::from(frame.map);
            self.label_names.truncate(frame.label_names_len + map_label);
        }
        self.help.given = false;
        self.unit = None;
        true
    }

    fn push_frame(&mut self, map: bool) {
        self.frames.push(Frame {
            path_len: self.path.len(),
            path_start: self.path_start,
            owner_len: self.owner.len(),
            named_from: self.named_from,
            labels_len: self.labels.len(),
            label_names_len: self.label_names.len(),
            map,
            family: None,
        });
    }

    fn pop_frame(&mut self) {
        if let Some(frame) = self.frames.pop() {
            self.path.truncate(frame.path_len);
            self.path_start = frame.path_start;
            self.owner.truncate(frame.owner_len);
            self.named_from = frame.named_from;
            self.labels.truncate(frame.labels_len);
            self.label_names.truncate(frame.label_names_len);
        }
        if self
            .skip_depth
            .is_some_and(|depth| self.frames.len() < depth)
        {
            self.skip_depth = None;
        }
    }

    /// Adds the labels a value described, or leaves the value out if one is taken. On
    /// a map's entry, a label named like the map's replaces the entry's key.
    fn add_labels(&mut self, labels: &[(&str, &str)]) {
        let mut name = std::mem::take(&mut self.label_buf);
        // On a map's entry (the key's label the only one since the map began): where the
        // map's label name is, if a described label takes its place.
        let replaced = match self.frames.last() {
            Some(frame) if frame.map && self.label_names.len() == frame.label_names_len + 1 => {
                let at = frame.label_names_len;
                let named = labels.iter().any(|(given, _)| {
                    label_name_into(&mut name, given);
                    self.label_names.get(at) == Some(name.as_str())
                });
                named.then_some((frame.labels_len, at))
            }
            _ => None,
        };
        if let Some((labels_len, _)) = replaced {
            self.labels.truncate(labels_len);
        }
        for &(given, value) in labels {
            label_name_into(&mut name, given);
            let replaces_key =
                replaced.is_some_and(|(_, at)| self.label_names.get(at) == Some(name.as_str()));
            if !replaces_key {
                self.own_label(&mut name);
                if self.label_names.contains(&name) || SAMPLE_LABELS.contains(&name.as_str()) {
                    self.skip_value(&format_args!("its label `{name}` is already used"));
                    break;
                }
                self.label_names.push(&name);
            }
            push_label(&mut self.labels, &name, value);
        }
        self.label_buf = name;
    }

    /// A counter's value, if it can be one: NaN or below zero is left out.
    fn counter_value(&mut self, value: f64) -> Option<Number> {
        if value >= 0.0 {
            return Some(Number::F64(value));
        }
        if self.skip_depth.is_none() {
            failures::count_failure();
            self.skipped(&format_args!("a counter cannot be {value}"));
        }
        None
    }
}

/// Whether `buckets` are valid `le` buckets: bounds finite and increasing, counts not
/// decreasing and at most `count`.
fn valid_buckets(buckets: &[(f64, u64)], count: u64) -> bool {
    buckets
        .iter()
        .all(|(bound, in_bucket)| bound.is_finite() && *in_bucket <= count)
        && buckets
            .windows(2)
            .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1)
}

impl<F: Format> Encode for Mapping<'_, F> {
    fn describe(&mut self, fact: Describe<'_>) {
        if self.skip_depth.is_some() {
            return;
        }
        match fact {
            Describe::Help(text) => self.help.set(text),
            Describe::Unit(unit) => self.unit = Some(unit),
            Describe::MetricName(name) => {
                self.path_start = self.path.len();
                if !name.is_empty() {
                    self.push_path(name);
                }
                self.named_from = Some(self.owner.len());
            }
            Describe::Labels(labels) => self.add_labels(labels),
            Describe::View(View::Json) => self.skip_depth = Some(self.frames.len()),
            Describe::View(View::Metrics) => {}
        }
    }

    fn counter(&mut self, value: u64) {
        self.scalar(FamilyType::Counter, Number::U64(value));
    }

    fn counter_f64(&mut self, value: f64) {
        if let Some(value) = self.counter_value(value) {
            self.scalar(FamilyType::Counter, value);
        }
    }

    fn gauge(&mut self, value: i64) {
        self.scalar(FamilyType::Gauge, Number::I64(value));
    }

    fn float(&mut self, value: f64) {
        self.scalar(FamilyType::Gauge, Number::F64(value));
    }

    fn str(&mut self, value: &str) {
        self.string(value);
    }

    fn bool(&mut self, value: bool) {
        self.scalar(FamilyType::Gauge, Number::U64(u64::from(value)));
    }

    fn null(&mut self) {}

    fn distribution(
        &mut self,
        distribution: &Distribution<'_>,
        native: Option<&NativeBuckets<'_>>,
        exemplars: &[Exemplar<'_>],
    ) {
        if self.skip_depth.is_some() {
            return;
        }
        if self.label_names.contains("le") {
            self.skipped(&"its label `le` is the label of histogram buckets");
            return;
        }
        if !valid_buckets(distribution.buckets, distribution.count) {
            self.skipped(&"its buckets are not finite, increasing and cumulative");
            return;
        }
        let native = native.filter(|native| {
            let valid = native.is_valid_for(distribution.count);
            if !valid {
                self.skipped(&"its native buckets break the rules of `NativeBuckets` (left out)");
            }
            valid
        });
        // A sum of negative values is no counter: only a histogram whose native buckets
        // hold negative values may have one.
        let negative_allowed = native.is_some_and(|native| !native.negative.is_empty());
        if distribution.sum.is_nan() || (distribution.sum < 0.0 && !negative_allowed) {
            // A histogram's sum is a counter in OpenMetrics.
            failures::count_failure();
            self.skipped(&format_args!(
                "a histogram sum cannot be {}",
                distribution.sum
            ));
            return;
        }
        let mut kept: Vec<Exemplar<'_>> = exemplars
            .iter()
            .filter(|exemplar| self.valid_exemplar(exemplar))
            .copied()
            .collect();
        kept.sort_by(|a, b| a.value.total_cmp(&b.value));
        if let Some(index) = self.family(FamilyType::Histogram) {
            let histogram = HistogramValue {
                distribution,
                native,
                exemplars: &kept,
            };
            self.metric(index, None, MetricValue::Histogram(&histogram));
        }
    }

    fn counter_with_exemplar(&mut self, value: u64, exemplar: &Exemplar<'_>) {
        let exemplar = Some(exemplar).filter(|exemplar| self.valid_exemplar(exemplar));
        self.scalar_with_exemplar(FamilyType::Counter, Number::U64(value), exemplar);
    }

    fn json(&mut self, value: &serde_json::Value) {
        self.json_value(value);
    }

    fn fail(&mut self, reason: &dyn fmt::Display) {
        failures::record_failure(&self.current, reason);
    }

    fn begin_object(&mut self) {
        self.push_frame(false);
    }

    fn field(&mut self, name: &str) {
        if self.next_member() {
            self.push_segment(name);
        }
    }

    fn end_object(&mut self) {
        self.pop_frame();
    }

    fn begin_map(&mut self, label: &str) {
        if self.skip_depth.is_some() {
            self.push_frame(false);
            return;
        }
        let mut name = std::mem::take(&mut self.label_buf);
        label_name_into(&mut name, label);
        self.own_label(&mut name);
        if self.label_names.contains(&name) || SAMPLE_LABELS.contains(&name.as_str()) {
            self.skip_value(&format_args!("its label `{name}` is already used"));
            self.push_frame(false);
        } else {
            self.push_frame(true);
            self.label_names.push(&name);
        }
        self.label_buf = name;
    }

    fn entry(&mut self, key: &str) {
        if !self.next_member() {
            return;
        }
        let Some(frame) = self.frames.last().filter(|frame| frame.map) else {
            return;
        };
        if let Some(label) = self.label_names.get(frame.label_names_len) {
            push_label(&mut self.labels, label, key);
        }
    }

    fn end_map(&mut self) {
        self.pop_frame();
    }

    /// As `entry(key)` then `counter(value)` for each, handing each metric straight to
    /// the format once the first entry has found the map's family: the same output,
    /// without the per-entry bookkeeping a value of any shape needs.
    fn counter_entries(&mut self, entries: &mut CounterEntries<'_>) {
        let Some(first) = entries.next() else {
            return;
        };
        self.entry(first.key);
        self.counter(first.value);
        let family = match self.frames.last() {
            Some(frame) if frame.map && self.skip_depth.is_none() => frame.family,
            _ => None,
        };
        let Some((FamilyType::Counter, index)) = family else {
            for entry in entries {
                self.entry(entry.key);
                self.counter(entry.value);
            }
            return;
        };
        // What `entry` leaves before the key's label: the labels the map began with;
        // the key's label goes in as the metric's extra one instead.
        self.next_member();
        let at = self.frames.last().map_or(0, |frame| frame.label_names_len);
        let label = self.label_names.get(at).unwrap_or_default();
        let family = &self.families.list[index];
        self.format
            .counters(index, family, &self.labels, label, entries);
    }
}

impl<F: Format> Document for Mapping<'_, F> {
    type Output = F::Output;

    fn variable(&mut self, name: &str, var: &dyn Var) {
        Mapping::variable(self, name, var);
    }

    fn finish(self) -> F::Output {
        Mapping::finish(self)
    }
}

impl<F> Mapping<'_, F> {
    /// The length of the owner's first segment: the variable's name.
    fn owner_top_len(&self) -> usize {
        let Some((len, _)) = self.owner.split_once(':') else {
            return self.owner.len();
        };
        len.len() + 1 + len.parse::<usize>().unwrap_or(0)
    }
}
