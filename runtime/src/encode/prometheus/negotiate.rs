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
        let openmetrics = accept.split(',').any(|range| {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            if !media.eq_ignore_ascii_case("application/openmetrics-text") {
                return false;
            }
            params.all(|param| {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "q" => value.parse::<f64>().is_ok_and(|q| q > 0.0),
                    "version" => value == "1.0.0",
                    _ => true,
                }
            })
        });
        if openmetrics {
            PrometheusFormat::OpenMetrics
        } else {
            PrometheusFormat::Text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PrometheusFormat::{self, *};

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
