//! `/metrics`: the registry as Prometheus metric families.
//!
//! Variables write themselves through the same [`Writer`](crate::vars::Writer) as for
//! JSON; the mapping in `mapping.rs` turns that stream into metric families
//! (`families.rs`), named by the rules in `names.rs`, and hands them to a
//! [`Format`](format::Format): `text.rs` writes text 0.0.4 or OpenMetrics,
//! `protobuf.rs` the protobuf exposition, as `negotiate.rs` picked.

mod families;
pub(crate) mod format;
mod mapping;
mod names;
mod negotiate;
mod protobuf;
mod text;

use std::fmt;

pub(crate) use mapping::Mapping;
// What the pushers' formats (`crate::push`) read besides `format`.
#[cfg(any(feature = "remote-write", feature = "otlp"))]
pub(crate) use families::{Family, FamilyType};
#[cfg(any(feature = "remote-write", feature = "otlp"))]
pub(crate) use mapping::INFO_LABEL;
use names::label_name;
#[cfg(feature = "remote-write")]
pub(crate) use names::push_f64;
#[cfg(feature = "server")]
pub(crate) use negotiate::Exposition;
pub use negotiate::{PrometheusFormat, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
pub(crate) use protobuf::ProtobufExposition;
pub use protobuf::PROTOBUF_CONTENT_TYPE;
pub(crate) use text::Text;

/// Label names the document itself writes: a constant label of one of these names
/// would make a series carry the label twice.
///
/// `key` is the label of every [`Map`](crate::Map) made without one (and of Go's
/// maps), `le` and `quantile` belong to histogram and summary samples, `function`,
/// `module` and `result` to instrumented functions, `version` and `expvar_version` to
/// `build_info`, `value` to string (`_info`) series.
pub const RESERVED_LABELS: &[&str] = &[
    "key",
    "le",
    "quantile",
    "function",
    "module",
    "result",
    "version",
    "expvar_version",
    "value",
];

/// How [`to_prometheus_with`](crate::registry::to_prometheus_with) and `/metrics` render
/// the registry.
///
/// ```
/// use expvar::{Registry, prometheus::{PrometheusFormat, PrometheusOptions}};
///
/// static JOBS: expvar::Counter = expvar::Counter::new();
/// let registry = Registry::new();
/// registry.publish("jobs", &JOBS).unwrap();
///
/// let options = PrometheusOptions::new()
///     .namespace("myapp")
///     .const_label("service", "api")
///     .format(PrometheusFormat::OpenMetrics);
/// let text = registry.to_prometheus_with(&options);
/// assert!(text.contains("# TYPE myapp_jobs counter\n"));
/// assert!(text.contains("\nmyapp_jobs_total{service=\"api\"} 0\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    format: PrometheusFormat,
    namespace: String,
    const_labels: Vec<(String, String)>,
    /// Constant labels refused because the document writes a label of that name.
    refused: Vec<String>,
    version: Option<String>,
}

/// A constant label that [`PrometheusOptions`] refuses: the document itself writes a
/// label of that name (see [`RESERVED_LABELS`]), so series would carry it twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedLabelError {
    label: String,
}

impl ReservedLabelError {
    /// The refused label name.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl fmt::Display for ReservedLabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "constant label `{}` is refused: /metrics writes a label of that name itself",
            self.label
        )
    }
}

impl std::error::Error for ReservedLabelError {}

impl PrometheusOptions {
    /// Text format 0.0.4, no namespace, no constant labels.
    pub fn new() -> Self {
        PrometheusOptions::default()
    }

    /// The exposition format.
    pub fn format(mut self, format: PrometheusFormat) -> Self {
        self.format = format;
        self
    }

    /// Prepends `namespace_` to every name made from a variable's path. Values that name
    /// themselves ([`Writer::metric_name`](crate::Writer::metric_name)) keep their
    /// standard names: `function_calls_*`, `process_*`, `memstats_*`, `build_info`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace.clear();
        if !namespace.is_empty() {
            names::push_name(&mut self.namespace, namespace);
        }
        self
    }

    /// Adds the label `name="value"` to every series, such as `service` or `instance`.
    /// A second label with the same name replaces the first.
    ///
    /// A name in [`RESERVED_LABELS`] is refused: it is left out of every document,
    /// [`validate`](Self::validate) reports it, and a server given these options does
    /// not start. [`try_const_label`](Self::try_const_label) reports it at once.
    pub fn const_label(mut self, name: &str, value: &str) -> Self {
        let name = label_name(name);
        if RESERVED_LABELS.contains(&name.as_str()) {
            self.refused.push(name);
            return self;
        }
        self.const_labels.retain(|(existing, _)| *existing != name);
        self.const_labels.push((name, value.to_owned()));
        self
    }

    /// Like [`const_label`](Self::const_label), with a refused name as an error.
    ///
    /// ```
    /// use expvar::prometheus::PrometheusOptions;
    ///
    /// let err = PrometheusOptions::new().try_const_label("le", "x").unwrap_err();
    /// assert_eq!(err.label(), "le");
    /// assert!(PrometheusOptions::new().try_const_label("service", "api").is_ok());
    /// ```
    pub fn try_const_label(self, name: &str, value: &str) -> Result<Self, ReservedLabelError> {
        let options = self.const_label(name, value);
        options.validate().map(|()| options)
    }

    /// The first constant label that was refused, if any.
    ///
    /// ```
    /// use expvar::prometheus::PrometheusOptions;
    ///
    /// let options = PrometheusOptions::new().const_label("version", "1.2");
    /// assert_eq!(options.validate().unwrap_err().label(), "version");
    /// ```
    pub fn validate(&self) -> Result<(), ReservedLabelError> {
        match self.refused.first() {
            Some(label) => Err(ReservedLabelError {
                label: label.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The `version` label of `build_info`, typically `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// The format chosen with [`format`](Self::format).
    pub fn get_format(&self) -> PrometheusFormat {
        self.format
    }

    pub(crate) fn const_label_count(&self) -> usize {
        self.const_labels.len()
    }

    pub(crate) fn valid_const_labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.const_labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

/// The first label of `vars` that a constant label of `options` has the name of, as
/// `(variable, label)`: such a label is written as `exported_<label>`, so a server
/// refuses the options at start rather than change the series of a variable it serves.
/// `vars` are written as for `/metrics`, so pass only those that cannot block.
#[cfg(any(feature = "server", feature = "remote-write", feature = "otlp"))]
pub(crate) fn const_label_conflict(
    options: &PrometheusOptions,
    vars: &[(impl AsRef<str>, crate::vars::VarRef)],
) -> Option<(String, String)> {
    if options.const_labels.is_empty() {
        return None;
    }
    let mut mapping = text_document(options, vars.len());
    for (name, var) in vars {
        mapping.variable(name.as_ref(), &**var);
        if let Some(conflict) = mapping.renamed.first() {
            return Some(conflict.clone());
        }
    }
    None
}

/// The `/metrics` document in the protobuf exposition, with `options`' namespace and
/// constant labels (its text format aside).
pub(crate) fn protobuf_document(
    options: &PrometheusOptions,
    vars: usize,
) -> Mapping<'_, ProtobufExposition> {
    Mapping::new(options, ProtobufExposition::new(vars * 2), vars)
}

/// The `/metrics` document in the text format `options` name: 0.0.4 or OpenMetrics.
pub(crate) fn text_document(options: &PrometheusOptions, vars: usize) -> Mapping<'_, Text> {
    Mapping::new(options, Text::new(options.format, vars * 2), vars)
}

#[cfg(test)]
mod tests;
