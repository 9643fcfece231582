//! A strict parser of the Prometheus text format 0.0.4 and OpenMetrics 1.0, for tests.
//!
//! Stricter than Prometheus itself where the formats leave room: every family has
//! exactly one `HELP` and one `TYPE` before its samples, families are contiguous and
//! appear once, series are unique, names and escapes are exactly as the specifications
//! allow, counters end in `_total`, and histograms are complete and cumulative.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name on the `TYPE` line.
    pub name: String,
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// OpenMetrics only: ` # {labels} value timestamp` after the value.
    pub exemplar: Option<Exemplar>,
}

/// An OpenMetrics exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub timestamp: Option<f64>,
}

impl Family {
    /// The value of the sample named `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == labels)
            .map(|sample| sample.value)
    }
}

/// Parses a whole exposition, returning its families in order, or the first error
/// with its line number.
pub fn parse(text: &str, format: Format) -> Result<Vec<Family>, String> {
    let mut families: Vec<Family> = Vec::new();
    let mut seen_families = HashSet::new();
    let mut seen_series = HashSet::new();
    let mut pending_help: Option<(String, String)> = None;
    let mut eof = false;
    if !text.ends_with('\n') {
        return Err("the exposition does not end with a newline".into());
    }
    for (number, line) in text.lines().enumerate() {
        let at = |message: String| format!("line {}: {message}: {line:?}", number + 1);
        if eof {
            return Err(at("text after # EOF".into()));
        }
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        if let Some(comment) = line.strip_prefix('#') {
            if format == Format::OpenMetrics && comment == " EOF" {
                eof = true;
                continue;
            }
            if let Some(rest) = comment.strip_prefix(" HELP ") {
                let (name, help) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("HELP without text".into()))?;
                check_metric_name(name).map_err(at)?;
                if pending_help.is_some() {
                    return Err(at("two HELP lines in a row".into()));
                }
                pending_help = Some((name.to_owned(), unescape(help, format, false).map_err(at)?));
                continue;
            }
            if let Some(rest) = comment.strip_prefix(" TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("TYPE without a type".into()))?;
                check_metric_name(name).map_err(at)?;
                let kinds: &[&str] = match format {
                    Format::Text => &["counter", "gauge", "histogram", "summary", "untyped"],
                    Format::OpenMetrics => &[
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "info",
                        "stateset",
                        "gaugehistogram",
                        "unknown",
                    ],
                };
                if !kinds.contains(&kind) {
                    return Err(at(format!("unknown type {kind}")));
                }
                let help = match pending_help.take() {
                    Some((help_name, help)) if help_name == name => help,
                    Some(_) => return Err(at("HELP and TYPE name different families".into())),
                    None => return Err(at("TYPE without HELP before it".into())),
                };
                if !seen_families.insert(name.to_owned()) {
                    return Err(at(format!("family {name} appears twice")));
                }
                if format == Format::Text && kind == "counter" && !name.ends_with("_total") {
                    return Err(at("a counter's name does not end in _total".into()));
                }
                if format == Format::OpenMetrics && kind == "counter" && name.ends_with("_total") {
                    return Err(at(
                        "an OpenMetrics counter family name ends in _total".into()
                    ));
                }
                families.push(Family {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    help,
                    samples: Vec::new(),
                });
                continue;
            }
            if let Some(rest) = comment.strip_prefix(" UNIT ") {
                // OpenMetrics only: right after TYPE, naming its family, which ends in it.
                let (name, unit) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("UNIT without a unit".into()))?;
                let family = families
                    .last()
                    .filter(|family| family.samples.is_empty() && family.name == name)
                    .ok_or_else(|| at("UNIT not right after its family's TYPE".into()))?;
                if format != Format::OpenMetrics {
                    return Err(at("UNIT in the text format".into()));
                }
                if !family.name.ends_with(&format!("_{unit}")) {
                    return Err(at("a family name does not end in its unit".into()));
                }
                continue;
            }
            return Err(at("a comment that is neither HELP, TYPE nor UNIT".into()));
        }
        if pending_help.is_some() {
            return Err(at("HELP not followed by TYPE".into()));
        }
        let sample = parse_sample(line, format).map_err(at)?;
        let family = families
            .last_mut()
            .ok_or_else(|| at("sample before any TYPE".into()))?;
        let allowed: Vec<String> = match (family.kind.as_str(), format) {
            ("counter", Format::Text) => vec![family.name.clone()],
            ("counter", Format::OpenMetrics) => vec![format!("{}_total", family.name)],
            ("info", _) => vec![format!("{}_info", family.name)],
            ("histogram", _) => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{}{suffix}", family.name))
                .collect(),
            _ => vec![family.name.clone()],
        };
        if !allowed.contains(&sample.name) {
            return Err(at(format!(
                "sample {} does not belong to family {}",
                sample.name, family.name
            )));
        }
        let mut key = sample.name.clone();
        for (name, value) in &sample.labels {
            let _ = write!(key, "\u{0}{name}\u{0}{value}");
        }
        if !seen_series.insert(key) {
            return Err(at("duplicate series".into()));
        }
        if family.kind == "counter" && (sample.value.is_nan() || sample.value < 0.0) {
            return Err(at("a counter is negative or NaN".into()));
        }
        if family.kind == "info" && sample.value != 1.0 {
            return Err(at("an info sample is not 1".into()));
        }
        family.samples.push(sample);
    }
    if format == Format::OpenMetrics && !eof {
        return Err("OpenMetrics exposition without # EOF".into());
    }
    if pending_help.is_some() {
        return Err("HELP at the end without TYPE".into());
    }
    for family in &families {
        if family.samples.is_empty() {
            return Err(format!("family {} has no samples", family.name));
        }
        if family.kind == "histogram" {
            check_histogram(family)?;
        }
    }
    Ok(families)
}

/// The `(le, count)` buckets, `_sum` and `_count` of one histogram series.
type HistogramSeries = (Vec<(f64, f64)>, Option<f64>, Option<f64>);

fn check_histogram(family: &Family) -> Result<(), String> {
    // Group by labels without `le`.
    let mut series: BTreeMap<Vec<(String, String)>, HistogramSeries> = BTreeMap::new();
    for sample in &family.samples {
        let mut labels: Vec<(String, String)> = sample
            .labels
            .iter()
            .filter(|(name, _)| *name != "le")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        let entry = series.entry(labels).or_default();
        if sample.name.ends_with("_bucket") {
            let le = sample
                .labels
                .get("le")
                .ok_or_else(|| format!("{}: a bucket without le", family.name))?;
            entry.0.push((parse_value(le)?, sample.value));
        } else if sample.name.ends_with("_sum") {
            entry.1 = Some(sample.value);
        } else {
            if sample.labels.contains_key("le") {
                return Err(format!("{}: le on _count", family.name));
            }
            entry.2 = Some(sample.value);
        }
    }
    for (labels, (buckets, sum, count)) in series {
        let what = format!("{} {labels:?}", family.name);
        let count = count.ok_or_else(|| format!("{what}: no _count"))?;
        sum.ok_or_else(|| format!("{what}: no _sum"))?;
        let last = buckets
            .last()
            .ok_or_else(|| format!("{what}: no buckets"))?;
        if last.0 != f64::INFINITY || last.1 != count {
            return Err(format!(
                "{what}: the +Inf bucket is not last or differs from _count"
            ));
        }
        for pair in buckets.windows(2) {
            if pair[0].0 >= pair[1].0 || pair[0].1 > pair[1].1 {
                return Err(format!("{what}: buckets not increasing and cumulative"));
            }
        }
    }
    Ok(())
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(())
    } else {
        Err(format!("invalid metric name {name:?}"))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if valid {
        Ok(())
    } else {
        Err(format!("invalid label name {name:?}"))
    }
}

/// Undoes `\\`, `\n` and (in label values, and in OpenMetrics help) `\"`; any other
/// backslash sequence is an error.
fn unescape(text: &str, format: Format, label_value: bool) -> Result<String, String> {
    let quotes = label_value || format == Format::OpenMetrics;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if quotes => out.push('"'),
                other => return Err(format!("invalid escape \\{other:?}")),
            },
            '"' if label_value => return Err("unescaped quote".into()),
            '\n' => return Err("raw newline".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') => {
            text.parse().map_err(|_| format!("invalid number {text:?}"))
        }
        _ => Err(format!("invalid number {text:?}")),
    }
}

fn parse_sample(line: &str, format: Format) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "a sample without a value".to_owned())?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("a label without =")?;
            let label = &rest[..eq];
            check_label_name(label)?;
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("a label value without a quote")?;
            // The value ends at the first quote not escaped.
            let mut end = None;
            let mut escaped = false;
            for (index, c) in rest.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(index);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end.ok_or("an unterminated label value")?;
            let value = unescape(&rest[..end], format, true)?;
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label {label} twice"));
            }
            rest = &rest[end + 1..];
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
                if rest.starts_with('}') {
                    return Err("a trailing comma in labels".into());
                }
            } else if !rest.starts_with('}') {
                return Err("labels not separated by commas".into());
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or("no single space before the value")?;
    let (value, exemplar) = match value.split_once(" # ") {
        Some((value, exemplar)) if format == Format::OpenMetrics => {
            let allowed = name.ends_with("_total") || name.ends_with("_bucket");
            if !allowed {
                return Err("an exemplar on a sample that is not a counter or a bucket".into());
            }
            (value, Some(parse_exemplar(exemplar, format)?))
        }
        _ => (value, None),
    };
    if value.contains(' ') {
        return Err("a timestamp or extra text after the value".into());
    }
    let sample = Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value)?,
        exemplar,
    };
    if let (Some(exemplar), Some(le)) = (&sample.exemplar, sample.labels.get("le")) {
        if exemplar.value > parse_value(le)? {
            return Err("an exemplar above its bucket's bound".into());
        }
    }
    Ok(sample)
}

/// `{labels} value [timestamp]`: labels at most 128 characters of names and values.
fn parse_exemplar(text: &str, format: Format) -> Result<Exemplar, String> {
    // The labels parse as a sample's would: give them a name.
    let (labels, rest) = text.split_once("} ").ok_or("an exemplar without labels")?;
    let sample = parse_sample(&format!("e{labels}}} 0"), Format::Text)?;
    let chars: usize = sample
        .labels
        .iter()
        .map(|(name, value)| name.chars().count() + value.chars().count())
        .sum();
    if chars > 128 {
        return Err(format!("exemplar labels of {chars} characters"));
    }
    let mut parts = rest.split(' ');
    let value = parse_value(parts.next().ok_or("an exemplar without a value")?)?;
    let timestamp = parts.next().map(parse_value).transpose()?;
    if parts.next().is_some() || format != Format::OpenMetrics {
        return Err("extra text after an exemplar".into());
    }
    Ok(Exemplar {
        labels: sample.labels,
        value,
        timestamp,
    })
}

#[test]
fn rejects_what_the_formats_forbid() {
    let ok = "# HELP a_total help\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert!(parse(ok, Format::Text).is_ok());
    for bad in [
        "a_total 1\n",
        "# HELP a_total h\n# TYPE a_total counter\na_total 1\na_total 2\n",
        "# HELP a h\n# TYPE a counter\na 1\n",
        "# HELP a h\n# TYPE a gauge\na{x=\"\\t\"} 1\n",
        "# HELP a h\n# TYPE a gauge\na{x=\"1\",} 1\n",
        "# HELP a h\n# TYPE a gauge\na{1x=\"1\"} 1\n",
        "# HELP a h\n# TYPE a gauge\nb 1\n",
        "# HELP a h\n# TYPE a gauge\na 1\n# HELP a h\n# TYPE a gauge\n",
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
        "# HELP a h\n# TYPE a gauge\na 1",
    ] {
        assert!(parse(bad, Format::Text).is_err(), "{bad:?}");
    }
    assert!(parse("# HELP a h\n# TYPE a gauge\na 1\n", Format::OpenMetrics).is_err());
}
