//! The 10,000 series in `measured` and `fastmetrics`, and their text encoders, each used
//! as its documentation shows.

use fastmetrics::encoder::{EncodeLabelSet, LabelSetEncoder};
use fastmetrics::format::text::{EscapingScheme, TextProfile};
use fastmetrics::raw::LabelSetSchema;
use measured::lasso::{Rodeo, RodeoReader};
use measured::metric::group::Encoding as _;
use measured::metric::name::MetricName;
use measured::metric::MetricFamilyEncoding as _;
use measured::text::BufferedTextEncoder;

use super::{family_name, key, value, FAMILIES, SERIES_PER_FAMILY};

/// `key` values are known at start-up: measured's docs store such strings in a
/// `RodeoReader`, a fixed-cardinality set.
#[derive(measured::LabelGroup)]
#[label(set = KeySet)]
pub struct KeyLabel<'a> {
    #[label(fixed_with = RodeoReader)]
    key: &'a str,
}

pub struct MeasuredFamily {
    name: String,
    counters: measured::CounterVec<KeySet>,
}

pub fn measured_families() -> Vec<MeasuredFamily> {
    let keys: Vec<String> = (0..SERIES_PER_FAMILY).map(key).collect();
    (0..FAMILIES)
        .map(|family| {
            let set = KeySet::new(Rodeo::from_iter(keys.iter()).into_reader());
            let counters = measured::CounterVec::with_label_set(set);
            for (series, key) in keys.iter().enumerate() {
                counters.inc_by(KeyLabel { key }, value(family, series));
            }
            MeasuredFamily {
                name: format!("{}_total", family_name(family)),
                counters,
            }
        })
        .collect()
}

/// One scrape: HELP, TYPE and every series of every family.
pub fn measured_encode(
    families: &[MeasuredFamily],
    encoder: &mut BufferedTextEncoder,
) -> impl AsRef<[u8]> {
    for family in families {
        let name = MetricName::try_from_str(&family.name).expect("a valid metric name");
        encoder.write_help(name, "A bench family.").unwrap();
        family.counters.collect_family_into(name, encoder).unwrap();
    }
    encoder.finish()
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct KeyLabels {
    key: String,
}

impl LabelSetSchema for KeyLabels {
    fn names() -> Option<&'static [&'static str]> {
        Some(&["key"])
    }
}

impl EncodeLabelSet for KeyLabels {
    fn encode(&self, encoder: &mut dyn LabelSetEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode(&("key", &self.key))
    }
}

type FastFamily =
    fastmetrics::metrics::family::Family<KeyLabels, fastmetrics::metrics::counter::Counter>;

/// The registry for the 0.0.4 profile (`openmetrics` false: names with `_total`, as the
/// other rows register them) or the OpenMetrics one (names without it: OpenMetrics adds
/// `_total` to a counter's samples itself).
pub fn fastmetrics_registry(openmetrics: bool) -> fastmetrics::registry::Registry {
    let mut registry = fastmetrics::registry::Registry::default();
    for family in 0..FAMILIES {
        let counters = FastFamily::default();
        for series in 0..SERIES_PER_FAMILY {
            let labels = KeyLabels { key: key(series) };
            counters.with_or_new(&labels, |counter| counter.inc_by(value(family, series)));
        }
        // The 0.0.4 profile writes the name as registered: `_total` as in the other rows.
        let suffix = if openmetrics { "" } else { "_total" };
        registry
            .register(
                format!("{}{suffix}", family_name(family)),
                "A bench family.",
                counters,
            )
            .expect("register a bench family");
    }
    registry
}

/// One scrape in the Prometheus text format (0.0.4), as `expvar_to_prometheus` writes.
pub fn fastmetrics_encode(registry: &fastmetrics::registry::Registry) -> String {
    let mut out = String::with_capacity(512 * 1024);
    fastmetrics::format::text::encode(&mut out, registry, TextProfile::PrometheusV0_0_4).unwrap();
    out
}

/// One scrape in OpenMetrics 1.0.0 with legacy names, as `/metrics` negotiates it.
pub fn fastmetrics_encode_openmetrics(registry: &fastmetrics::registry::Registry) -> String {
    let mut out = String::with_capacity(512 * 1024);
    let profile = TextProfile::OpenMetricsV1_0_0 {
        escaping_scheme: EscapingScheme::Underscores,
    };
    fastmetrics::format::text::encode(&mut out, registry, profile).unwrap();
    out
}
