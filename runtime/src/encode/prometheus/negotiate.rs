//! Which exposition format a scraper asks for, and what each is called on the wire.

/// The `Content-Type` of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of OpenMetrics 1.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The two exposition formats served at `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PrometheusFormat {
    /// The Prometheus text format 0.0.4, what every scraper reads.
    #[default]
    Text,
    /// OpenMetrics 1.0: counters typed without `_total`, strings as `info`, `# EOF` last.
    OpenMetrics,
}

impl PrometheusFormat {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PrometheusFormat::Text => TEXT_CONTENT_TYPE,
            PrometheusFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it lists
    /// `application/openmetrics-text` with a non-zero `q` and a version this crate
    /// writes (1.0.0, or none given), as Prometheus does; else text 0.0.4.
    ///
    /// ```
    /// use expvar::prometheus::PrometheusFormat;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    /// assert_eq!(PrometheusFormat::from_accept(prometheus), PrometheusFormat::OpenMetrics);
    /// assert_eq!(PrometheusFormat::from_accept("*/*"), PrometheusFormat::Text);
    /// // A version this crate does not write falls back to the text format.
    /// let future = "application/openmetrics-text; version=2.0.0";
    /// assert_eq!(PrometheusFormat::from_accept(future), PrometheusFormat::Text);
    /// ```
    pub fn from_accept(accept: &str) -> Self {
        if quality(accept, OPENMETRICS) > 0.0 {
            PrometheusFormat::OpenMetrics
        } else {
            PrometheusFormat::Text
        }
    }
}

/// What `/metrics` answers with: a text format, or the protobuf exposition.
#[cfg(feature = "server")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exposition {
    Text(PrometheusFormat),
    Protobuf,
}

#[cfg(feature = "server")]
impl Exposition {
    /// The exposition `Accept` headers ask for: the protobuf exposition when they list
    /// `application/vnd.google.protobuf` for `io.prometheus.client.MetricFamily`
    /// messages, delimited, with a `q` at least that of OpenMetrics (Prometheus sends
    /// it first, without `q`, when it scrapes native histograms); else as
    /// [`PrometheusFormat::from_accept`] says.
    pub(crate) fn from_accept<'a>(accept: impl IntoIterator<Item = &'a str>) -> Self {
        let (mut protobuf, mut openmetrics) = (0.0f64, 0.0f64);
        for header in accept {
            protobuf = protobuf.max(quality(header, PROTOBUF));
            openmetrics = openmetrics.max(quality(header, OPENMETRICS));
        }
        if protobuf > 0.0 && protobuf >= openmetrics {
            Exposition::Protobuf
        } else if openmetrics > 0.0 {
            Exposition::Text(PrometheusFormat::OpenMetrics)
        } else {
            Exposition::Text(PrometheusFormat::Text)
        }
    }
}

/// A media type this crate writes, and the parameters its ranges must have.
struct Media {
    name: &'static str,
    /// `(parameter, the only value accepted)`; a range may leave a parameter out.
    params: &'static [(&'static str, &'static str)],
}

const OPENMETRICS: Media = Media {
    name: "application/openmetrics-text",
    params: &[("version", "1.0.0")],
};

#[cfg(feature = "server")]
const PROTOBUF: Media = Media {
    name: "application/vnd.google.protobuf",
    params: &[
        ("proto", "io.prometheus.client.MetricFamily"),
        ("encoding", "delimited"),
    ],
};

/// The highest `q` the ranges of `accept` give `media` (1 when a range gives none),
/// 0 if no range accepts it.
fn quality(accept: &str, media: Media) -> f64 {
    let mut best = 0.0f64;
    for range in accept.split(',') {
        let mut params = range.split(';').map(str::trim);
        if !params.next().unwrap_or("").eq_ignore_ascii_case(media.name) {
            continue;
        }
        let mut q = 1.0;
        let accepted = params.all(|param| {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"');
            if name == "q" {
                q = value.parse::<f64>().unwrap_or(0.0);
                return true;
            }
            media
                .params
                .iter()
                .find(|(known, _)| *known == name)
                .is_none_or(|(_, only)| value == *only)
        });
        if accepted {
            best = best.max(q);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::PrometheusFormat::{self, *};

    #[cfg(feature = "server")]
    #[test]
    fn protobuf_as_prometheus_asks_for_it() {
        use super::{Exposition, PrometheusFormat as Format};

        // Prometheus 2.42 with `--enable-feature=native-histograms`.
        let prometheus = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Exposition::from_accept([prometheus]), Exposition::Protobuf);
        for (accept, expected) in [
            ("", Exposition::Text(Format::Text)),
            ("application/vnd.google.protobuf", Exposition::Protobuf),
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
                Exposition::Text(Format::Text),
            ),
            (
                "application/vnd.google.protobuf;proto=other.Message",
                Exposition::Text(Format::Text),
            ),
            (
                "application/vnd.google.protobuf;q=0.5,application/openmetrics-text",
                Exposition::Text(Format::OpenMetrics),
            ),
            (
                "application/vnd.google.protobuf;q=0,text/plain",
                Exposition::Text(Format::Text),
            ),
        ] {
            assert_eq!(Exposition::from_accept([accept]), expected, "{accept}");
        }
        // Several `Accept` headers count together.
        let headers = ["text/plain", "application/vnd.google.protobuf"];
        assert_eq!(Exposition::from_accept(headers), Exposition::Protobuf);
    }

    #[test]
    fn accept_negotiation() {
        for (accept, expected) in [
            ("", Text),
            ("text/plain;version=0.0.4", Text),
            ("application/openmetrics-text; version=1.0.0", OpenMetrics),
            ("application/openmetrics-text", OpenMetrics),
            ("Application/OpenMetrics-Text; Version=\"1.0.0\"", OpenMetrics),
            ("text/plain, application/openmetrics-text;q=0", Text),
            ("application/openmetrics-text; version=0.0.1", Text),
            ("application/openmetrics-text; version=2.0.0", Text),
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                OpenMetrics,
            ),
            (
                "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5",
                Text,
            ),
        ] {
            assert_eq!(PrometheusFormat::from_accept(accept), expected, "{accept}");
        }
    }
}
