//! [`Otlp`]: the registry pushed as OTLP/HTTP metrics.

mod resource;
mod wire;

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};

use super::client::Reply;
use super::error::PushError;
use super::handle::PushHandle;
use super::settings::{env, env_millis, key_values, settings_methods, Settings};
use super::worker::{self, Protocol};
use crate::encode::prometheus::{Mapping, PrometheusOptions};
use crate::encode::protobuf::{Fields, Value};
use crate::encode::render;
use crate::vars::VarRef;
use resource::Resource;
use wire::OtlpFormat;

/// Where OTLP/HTTP receivers listen by default (the OpenTelemetry Collector's port).
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// Pushes the registry as OTLP/HTTP metrics (binary protobuf) to an OpenTelemetry
/// Collector or any OTLP receiver (Grafana Cloud, Honeycomb, Datadog, New Relic,
/// Prometheus's `/api/v1/otlp/v1/metrics`, ...), every [`interval`](Self::interval),
/// from a thread of its own. Feature `otlp`.
///
/// One metric per `/metrics` family, named as the family (`requests`, which Prometheus
/// back ends show as `requests_total`), with cumulative temporality and one fixed start
/// time: counters are monotonic sums, gauges gauges, histograms histograms with their
/// explicit bounds (or exponential histograms when they have native buckets), strings
/// the gauge `<name>_info` of value 1 with the string in its `value` attribute; map
/// keys and labels are data point attributes. The resource says who pushes:
/// `service.name` (the program's name unless told), `service.instance.id`,
/// `process.pid`, `telemetry.sdk.*`, and `OTEL_RESOURCE_ATTRIBUTES`. Partial successes
/// are logged, their rejected points counted as dropped. Retries and the queue: see
/// [`crate::push`].
///
/// ```no_run
/// use std::time::Duration;
///
/// let pusher = expvar::Otlp::new("http://otel-collector:4318/v1/metrics")
///     .interval(Duration::from_secs(30))
///     .service_name("checkout")
///     .resource_attribute("deployment.environment", "prod")
///     .gzip(true)
///     .start()?;
/// # Ok::<(), expvar::push::PushError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Otlp {
    settings: Settings,
    service_name: Option<String>,
    attributes: Vec<(String, String)>,
    gzip: bool,
}

impl Otlp {
    /// A pusher to `url`, the whole metrics URL (OTLP/HTTP's is
    /// `http://host:4318/v1/metrics`), every 60 s, of the global registry. Nothing is
    /// checked until [`start`](Self::start).
    pub fn new(url: &str) -> Self {
        Otlp {
            settings: Settings::new(url, Duration::from_secs(60)),
            service_name: None,
            attributes: Vec::new(),
            gzip: false,
        }
    }

    /// A pusher set by OpenTelemetry's environment variables, each optional:
    ///
    /// | variable | sets |
    /// | --- | --- |
    /// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | the URL, as it is |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | the base URL, `/v1/metrics` appended (default `http://localhost:4318`) |
    /// | `OTEL_EXPORTER_OTLP_HEADERS`, `..._METRICS_HEADERS` | headers, `key=value,...` (values `%`-escaped) |
    /// | `OTEL_EXPORTER_OTLP_TIMEOUT`, `..._METRICS_TIMEOUT` | the timeout, in milliseconds |
    /// | `OTEL_EXPORTER_OTLP_COMPRESSION`, `..._METRICS_COMPRESSION` | `gzip` or `none` |
    /// | `OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._METRICS_CERTIFICATE` | a CA file, as [`ca_file`](Self::ca_file) |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL`, `..._METRICS_PROTOCOL` | must be `http/protobuf` if set |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | the interval, in milliseconds |
    /// | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource (read by [`new`](Self::new) too) |
    ///
    /// The `METRICS_` forms win over the general ones. A value that cannot be used is
    /// an error naming its variable.
    ///
    /// ```
    /// std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli");
    /// let err = expvar::Otlp::from_env().unwrap_err();
    /// assert!(err.to_string().contains("OTEL_EXPORTER_OTLP_COMPRESSION"));
    /// std::env::remove_var("OTEL_EXPORTER_OTLP_COMPRESSION");
    /// ```
    pub fn from_env() -> Result<Self, PushError> {
        let url = match env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            Some(url) => url.trim().to_owned(),
            None => {
                let base = env("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
                format!("{}/v1/metrics", base.trim().trim_end_matches('/'))
            }
        };
        let mut otlp = Otlp::new(&url);
        let specific = |name: &str| {
            let metrics = name.replace("OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_METRICS_");
            env(&metrics)
                .map(|value| (metrics, value))
                .or_else(|| env(name).map(|value| (name.to_owned(), value)))
        };
        for name in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(value) = env(name) {
                for (header, value) in key_values(name, &value)? {
                    otlp.settings.set_header(&header, value);
                }
            }
        }
        if let Some((name, _)) = specific("OTEL_EXPORTER_OTLP_TIMEOUT") {
            if let Some(timeout) = env_millis(&name)? {
                otlp.settings.timeout = timeout;
            }
        }
        if let Some(interval) = env_millis("OTEL_METRIC_EXPORT_INTERVAL")? {
            otlp.settings.interval = interval;
        }
        if let Some((name, value)) = specific("OTEL_EXPORTER_OTLP_COMPRESSION") {
            otlp.gzip = match value.trim() {
                "gzip" => true,
                "none" => false,
                other => return Err(PushError::config(format!("{name}={other:?}: gzip or none"))),
            };
        }
        if let Some((_, path)) = specific("OTEL_EXPORTER_OTLP_CERTIFICATE") {
            otlp.settings.ca_file = Some(path.trim().into());
        }
        if let Some((name, value)) = specific("OTEL_EXPORTER_OTLP_PROTOCOL") {
            if value.trim() != "http/protobuf" {
                return Err(PushError::config(format!(
                    "{name}={value:?}: only http/protobuf is supported"
                )));
            }
        }
        Ok(otlp)
    }

    settings_methods!();

    /// The resource's `service.name` (default: `OTEL_SERVICE_NAME`, else the
    /// `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else the program's name).
    pub fn service_name(mut self, name: &str) -> Self {
        self.service_name = Some(name.to_owned());
        self
    }

    /// Adds the resource attribute `key` = `value` (a string), over one of the same
    /// key from `OTEL_RESOURCE_ATTRIBUTES` or the defaults.
    pub fn resource_attribute(mut self, key: &str, value: &str) -> Self {
        self.attributes.retain(|(existing, _)| existing != key);
        self.attributes.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Compresses requests with gzip (`Content-Encoding: gzip`; default off, as
    /// OpenTelemetry's).
    pub fn gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// Checks the settings and starts pushing: the first push is made at once, then
    /// one every interval. An error says what is wrong with the settings (the URL,
    /// a label, the CA file, `OTEL_RESOURCE_ATTRIBUTES`); the receiver itself is not
    /// contacted here.
    pub fn start(self) -> Result<PushHandle, PushError> {
        worker::start(&self.settings, self.protocol()?)
    }

    /// The request body one push would send now, without sending it: the
    /// `ExportMetricsServiceRequest`, gzipped if [`gzip`](Self::gzip) is on.
    ///
    /// ```
    /// use expvar::{Counter, Registry};
    /// use std::sync::Arc;
    ///
    /// let registry = Arc::new(Registry::new());
    /// registry.publish("jobs", Arc::new(Counter::new())).unwrap();
    /// let body = expvar::Otlp::new("http://localhost:4318/v1/metrics")
    ///     .registry(registry)
    ///     .service_name("importer")
    ///     .encode()
    ///     .unwrap();
    /// assert!(body.windows(8).any(|w| w == b"importer"));
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, PushError> {
        worker::encode_once(&self.settings, self.protocol()?)
    }

    fn protocol(&self) -> Result<OtlpProtocol, PushError> {
        let resource = Resource::new(self.service_name.as_deref(), &self.attributes)?;
        Ok(OtlpProtocol {
            resource: resource.encode(),
            start_nanos: resource::start_nanos(),
            gzip: self.gzip,
            points: Vec::new(),
            partial: HashSet::new(),
        })
    }
}

/// OTLP's part of a pusher.
struct OtlpProtocol {
    /// The encoded `Resource`, the same in every request.
    resource: Vec<u8>,
    start_nanos: u64,
    gzip: bool,
    /// The data points' buffer, reused from push to push.
    points: Vec<u8>,
    /// Partial-success messages already logged.
    partial: HashSet<String>,
}

impl Protocol for OtlpProtocol {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = vec![(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )];
        if self.gzip {
            headers.push((CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        }
        headers
    }

    fn encode(
        &mut self,
        options: &PrometheusOptions,
        vars: &[(Arc<str>, VarRef)],
        time: SystemTime,
    ) -> (Vec<u8>, usize) {
        let nanos = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        let format = OtlpFormat::new(
            std::mem::take(&mut self.points),
            &self.resource,
            vars.len() * 2,
            self.start_nanos.min(nanos),
            nanos,
        );
        let encoded = render(vars, Mapping::new(options, format, vars.len()));
        self.points = encoded.buffer;
        if !self.gzip {
            return (encoded.request, encoded.samples);
        }
        // Level 1: most of the size saved, for a fraction of the default level's time.
        let mut gzip = flate2::write::GzEncoder::new(
            Vec::with_capacity(encoded.request.len() / 4 + 64),
            flate2::Compression::fast(),
        );
        let body = gzip
            .write_all(&encoded.request)
            .and_then(|()| gzip.finish())
            .expect("writing into a Vec does not fail");
        (body, encoded.samples)
    }

    fn rejected(&mut self, reply: &Reply) -> usize {
        let Some((rejected, message)) = partial_success(&reply.body) else {
            return 0;
        };
        if (rejected > 0 || !message.is_empty())
            && self.partial.len() < 64
            && self.partial.insert(message.clone())
        {
            log::warn!("expvar: OTLP receiver rejected {rejected} data points: {message}");
        }
        usize::try_from(rejected).unwrap_or(0)
    }
}

/// The `partial_success` of an `ExportMetricsServiceResponse`: rejected data points
/// and the receiver's message. `None` for a reply with none (or not protobuf).
fn partial_success(body: &[u8]) -> Option<(i64, String)> {
    let mut partial = None;
    for field in Fields::new(body) {
        if let (1, Value::Bytes(message)) = field.ok()? {
            partial = Some(message);
        }
    }
    let mut rejected = 0;
    let mut message = String::new();
    for field in Fields::new(partial?) {
        match field.ok()? {
            (1, Value::Varint(count)) => rejected = count as i64,
            (2, Value::Bytes(text)) => message = String::from_utf8_lossy(text).into_owned(),
            _ => {}
        }
    }
    Some((rejected, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::protobuf::Protobuf;

    #[test]
    fn partial_success_is_read_from_the_reply() {
        let mut reply = Protobuf::new();
        reply.message(1, |partial| {
            partial.int64(1, 3);
            partial.string(2, "3 points had no name");
        });
        assert_eq!(
            partial_success(reply.as_bytes()),
            Some((3, "3 points had no name".to_owned()))
        );
        assert_eq!(partial_success(b""), None);
        assert_eq!(partial_success(b"\xff\xff garbage"), None);
    }
}
