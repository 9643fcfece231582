//! [`Recording`]: a variable's value captured once, as the calls it made on its
//! [`Writer`], and written again later by replaying them.
//!
//! Variables that may block are rendered on a worker thread, with a deadline (see
//! [`collect`](super::collect)); what the worker captures here is then written into the
//! document on the rendering thread. The recording mirrors the [`Encode`] trait call for call, nothing more.

use std::ops::Range;

use crate::encode::failures;
use crate::vars::exemplar::OwnedExemplar;
use crate::vars::{
    Describe, Distribution, Encode, Exemplar, NativeBuckets, Unit, Var, View, Writer,
};

/// One [`Encode`] call; text arguments are ranges of [`Recording::text`].
enum Call {
    Help(Range<usize>),
    Unit(Unit),
    MetricName(Range<usize>),
    /// Label names and values, in pairs, from `Recording::labels`.
    Labels(Range<usize>),
    View(View),
    Counter(u64),
    CounterWithExemplar(u64, Box<OwnedExemplar>),
    CounterF64(f64),
    Gauge(i64),
    Float(f64),
    Str(Range<usize>),
    Bool(bool),
    Null,
    Distribution(Box<OwnedDistribution>),
    Json(Box<serde_json::Value>),
    Fail(Range<usize>),
    BeginObject,
    Field(Range<usize>),
    EndObject,
    BeginMap(Range<usize>),
    Entry(Range<usize>),
    EndMap,
}

/// A [`Distribution`] whose buckets and quantiles the recording owns, with its native
/// buckets and exemplars.
struct OwnedDistribution {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    buckets: Vec<(f64, u64)>,
    quantiles: Vec<(f64, f64)>,
    native: Option<OwnedNative>,
    exemplars: Vec<OwnedExemplar>,
}

/// [`NativeBuckets`] the recording owns.
struct OwnedNative {
    schema: i32,
    zero_threshold: f64,
    zero_count: u64,
    positive: Vec<(i32, u64)>,
    negative: Vec<(i32, u64)>,
}

fn owned_exemplar(exemplar: &Exemplar<'_>) -> OwnedExemplar {
    OwnedExemplar {
        labels: exemplar
            .labels
            .iter()
            .map(|&(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
        value: exemplar.value,
        timestamp: exemplar.timestamp,
    }
}

/// The calls one variable made while writing its value.
#[derive(Default)]
pub(crate) struct Recording {
    calls: Vec<Call>,
    /// Every string argument, one after the other.
    text: String,
    /// Every label described: (name, value) ranges of `text`.
    labels: Vec<(Range<usize>, Range<usize>)>,
}

impl Recording {
    /// Captures `var`'s value. A panic is captured as a failure (`null`, counted and
    /// logged when replayed), with nothing of what was written before it.
    pub(crate) fn capture(var: &dyn Var) -> Recording {
        let mut recording = Recording::default();
        let result = failures::catch_render(|| var.write(Writer::new(&mut recording)));
        if let Err(panic) = result {
            let message = failures::panic_message(&*panic).to_owned();
            recording = Recording::default();
            recording.fail(&format_args!("panicked: {message}"));
        }
        recording
    }

    fn keep(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn replay(&self, encoder: &mut dyn Encode) {
        let text = |range: &Range<usize>| &self.text[range.clone()];
        for call in &self.calls {
            match call {
                Call::Help(help) => encoder.describe(Describe::Help(text(help))),
                Call::Unit(unit) => encoder.describe(Describe::Unit(*unit)),
                Call::MetricName(name) => encoder.describe(Describe::MetricName(text(name))),
                Call::Labels(range) => {
                    let labels: Vec<(&str, &str)> = self.labels[range.clone()]
                        .iter()
                        .map(|(name, value)| (text(name), text(value)))
                        .collect();
                    encoder.describe(Describe::Labels(&labels));
                }
                Call::View(view) => encoder.describe(Describe::View(*view)),
                Call::Counter(value) => encoder.counter(*value),
                Call::CounterWithExemplar(value, exemplar) => {
                    let pairs = exemplar.pairs();
                    encoder.counter_with_exemplar(*value, &exemplar.as_exemplar(&pairs));
                }
                Call::CounterF64(value) => encoder.counter_f64(*value),
                Call::Gauge(value) => encoder.gauge(*value),
                Call::Float(value) => encoder.float(*value),
                Call::Str(value) => encoder.str(text(value)),
                Call::Bool(value) => encoder.bool(*value),
                Call::Null => encoder.null(),
                Call::Distribution(owned) => {
                    let native = owned.native.as_ref().map(|native| NativeBuckets {
                        schema: native.schema,
                        zero_threshold: native.zero_threshold,
                        zero_count: native.zero_count,
                        positive: &native.positive,
                        negative: &native.negative,
                    });
                    let pairs: Vec<Vec<(&str, &str)>> =
                        owned.exemplars.iter().map(OwnedExemplar::pairs).collect();
                    let exemplars: Vec<Exemplar<'_>> = owned
                        .exemplars
                        .iter()
                        .zip(&pairs)
                        .map(|(exemplar, pairs)| exemplar.as_exemplar(pairs))
                        .collect();
                    let distribution = Distribution {
                        count: owned.count,
                        sum: owned.sum,
                        min: owned.min,
                        max: owned.max,
                        buckets: &owned.buckets,
                        quantiles: &owned.quantiles,
                    };
                    encoder.distribution(&distribution, native.as_ref(), &exemplars);
                }
                Call::Json(value) => encoder.json(value),
                Call::Fail(reason) => encoder.fail(&text(reason)),
                Call::BeginObject => encoder.begin_object(),
                Call::Field(name) => encoder.field(text(name)),
                Call::EndObject => encoder.end_object(),
                Call::BeginMap(label) => encoder.begin_map(text(label)),
                Call::Entry(key) => encoder.entry(text(key)),
                Call::EndMap => encoder.end_map(),
            }
        }
    }
}

impl Var for Recording {
    fn write(&self, out: Writer<'_>) {
        // A recording holds exactly one value: the one the variable wrote.
        out.replay(|encoder| self.replay(encoder));
    }

    fn __may_block(&self) -> bool {
        false
    }
}

impl Encode for Recording {
    fn describe(&mut self, fact: Describe<'_>) {
        let call = match fact {
            Describe::Help(help) => Call::Help(self.keep(help)),
            Describe::Unit(unit) => Call::Unit(unit),
            Describe::MetricName(name) => Call::MetricName(self.keep(name)),
            Describe::Labels(labels) => {
                let start = self.labels.len();
                for (name, value) in labels {
                    let pair = (self.keep(name), self.keep(value));
                    self.labels.push(pair);
                }
                Call::Labels(start..self.labels.len())
            }
            Describe::View(view) => Call::View(view),
        };
        self.calls.push(call);
    }
    fn counter(&mut self, value: u64) {
        self.calls.push(Call::Counter(value));
    }
    fn counter_with_exemplar(&mut self, value: u64, exemplar: &Exemplar<'_>) {
        let exemplar = Box::new(owned_exemplar(exemplar));
        self.calls.push(Call::CounterWithExemplar(value, exemplar));
    }
    fn counter_f64(&mut self, value: f64) {
        self.calls.push(Call::CounterF64(value));
    }
    fn gauge(&mut self, value: i64) {
        self.calls.push(Call::Gauge(value));
    }
    fn float(&mut self, value: f64) {
        self.calls.push(Call::Float(value));
    }
    fn str(&mut self, value: &str) {
        let value = self.keep(value);
        self.calls.push(Call::Str(value));
    }
    fn bool(&mut self, value: bool) {
        self.calls.push(Call::Bool(value));
    }
    fn null(&mut self) {
        self.calls.push(Call::Null);
    }
    fn distribution(
        &mut self,
        distribution: &Distribution<'_>,
        native: Option<&NativeBuckets<'_>>,
        exemplars: &[Exemplar<'_>],
    ) {
        let native = native.map(|native| OwnedNative {
            schema: native.schema,
            zero_threshold: native.zero_threshold,
            zero_count: native.zero_count,
            positive: native.positive.to_vec(),
            negative: native.negative.to_vec(),
        });
        self.calls
            .push(Call::Distribution(Box::new(OwnedDistribution {
                count: distribution.count,
                sum: distribution.sum,
                min: distribution.min,
                max: distribution.max,
                buckets: distribution.buckets.to_vec(),
                quantiles: distribution.quantiles.to_vec(),
                native,
                exemplars: exemplars.iter().map(owned_exemplar).collect(),
            })));
    }
    fn json(&mut self, value: &serde_json::Value) {
        self.calls.push(Call::Json(Box::new(value.clone())));
    }
    fn fail(&mut self, reason: &dyn std::fmt::Display) {
        let reason = self.keep(&reason.to_string());
        self.calls.push(Call::Fail(reason));
    }
    fn begin_object(&mut self) {
        self.calls.push(Call::BeginObject);
    }
    fn field(&mut self, name: &str) {
        let name = self.keep(name);
        self.calls.push(Call::Field(name));
    }
    fn end_object(&mut self) {
        self.calls.push(Call::EndObject);
    }
    fn begin_map(&mut self, label: &str) {
        let label = self.keep(label);
        self.calls.push(Call::BeginMap(label));
    }
    fn entry(&mut self, key: &str) {
        let key = self.keep(key);
        self.calls.push(Call::Entry(key));
    }
    fn end_map(&mut self) {
        self.calls.push(Call::EndMap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{render_json, Counter, Func, Histogram, Map};

    #[test]
    fn a_replay_writes_what_the_variable_wrote() {
        let map = Map::<Counter>::new();
        map.add("a\"b", 2);
        map.add("c", 3);
        let histogram = Histogram::new();
        histogram.record(0.5);
        histogram.record(2.0);
        let json = Func::new(|| serde_json::json!({"list": [1, 2], "s": "x"}));
        let vars: [&dyn Var; 3] = [&map, &histogram, &json];
        for var in vars {
            assert_eq!(render_json(&Recording::capture(var)), render_json(var));
        }
    }

    #[test]
    fn a_replay_keeps_native_buckets_and_exemplars() {
        use crate::encode::prometheus::{protobuf_document, PrometheusOptions};
        use crate::vars::IntoVarRef;

        let histogram = std::sync::Arc::new(Histogram::native());
        histogram.record(0.5);
        histogram.record(-2.0);
        histogram
            .record_with_exemplar(3.0, &[("trace_id", "abc")])
            .unwrap();
        let counter = std::sync::Arc::new(Counter::new());
        counter.inc_with_exemplar(&[("trace_id", "def")]).unwrap();
        let options = PrometheusOptions::new();
        let document = |vars: &[(&str, crate::vars::VarRef)]| {
            crate::encode::render(vars, protobuf_document(&options, vars.len()))
        };
        let direct = [
            ("h", histogram.clone().into_var_ref()),
            ("c", counter.clone().into_var_ref()),
        ];
        let replayed = [
            (
                "h",
                std::sync::Arc::new(Recording::capture(&*histogram)).into_var_ref(),
            ),
            (
                "c",
                std::sync::Arc::new(Recording::capture(&*counter)).into_var_ref(),
            ),
        ];
        assert_eq!(document(&replayed), document(&direct));
    }

    #[test]
    fn a_panic_is_recorded_as_a_failure() {
        struct HalfWritten;
        impl Var for HalfWritten {
            fn write(&self, out: Writer<'_>) {
                out.object(|fields| {
                    fields.field("first").counter(1);
                    panic!("broken");
                });
            }
        }
        let before = crate::registry::render_failures();
        let recording = Recording::capture(&HalfWritten);
        assert_eq!(
            crate::registry::render_failures(),
            before,
            "counted when replayed"
        );
        assert_eq!(render_json(&recording), "null");
        assert_eq!(crate::registry::render_failures(), before + 1);
    }
}
