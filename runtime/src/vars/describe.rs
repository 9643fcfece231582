//! What a value says about itself before it is written: its unit, which views show
//! it, and the facts an encoder receives.

/// The unit of a value; see [`Writer::unit`](super::Writer::unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Seconds (durations, timestamps).
    Seconds,
    /// Bytes (sizes).
    Bytes,
    /// A ratio, 1.0 being the whole.
    Ratio,
}

impl Unit {
    /// The unit's name, as metric names end in it: `seconds`, `bytes`, `ratio`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
        }
    }
}

/// Which views show a value; see [`Writer::json_only`](super::Writer::json_only) and
/// [`Writer::metrics_only`](super::Writer::metrics_only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// `/debug/vars` and the dashboard, which charts what the JSON holds.
    Json,
    /// `/metrics`.
    Metrics,
}

/// One fact about the value about to be written, handed to
/// [`Encode::describe`](super::Encode::describe).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Describe<'a> {
    Help(&'a str),
    Unit(Unit),
    MetricName(&'a str),
    Labels(&'a [(&'a str, &'a str)]),
    View(View),
}
