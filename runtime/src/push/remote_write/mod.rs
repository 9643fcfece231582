//! [`RemoteWrite`]: the registry pushed to a Prometheus remote-write receiver.

mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};

use super::error::PushError;
use super::handle::PushHandle;
use super::settings::{env, settings_methods, Settings};
use super::worker::{self, Protocol};
use crate::encode::prometheus::{Mapping, PrometheusOptions};
use crate::encode::render;
use crate::vars::VarRef;
use wire::RemoteWriteFormat;

/// The environment variable [`RemoteWrite::from_env`] reads.
pub(crate) const URL_VAR: &str = "EXPVAR_REMOTE_WRITE_URL";

/// Pushes the registry to a Prometheus remote-write receiver (Prometheus with
/// `--web.enable-remote-write-receiver`, Mimir, Cortex, Thanos Receive,
/// VictoriaMetrics, Grafana Cloud, ...), every [`interval`](Self::interval), from a
/// thread of its own. Feature `remote-write`.
///
/// Remote write 1.0: a snappy-compressed protobuf `WriteRequest`. The series are those
/// of `/metrics` in the text format, names and labels alike (`requests_total`, a
/// histogram's `_bucket`, `_sum` and `_count`), plus the [labels](Self::label) given
/// here, each sample stamped with the time it was read. Native histogram buckets are
/// not sent (remote write 1.0 has none); their `le` buckets, sum and count are. What
/// the receiver has not taken waits in a bounded queue (see [`crate::push`]).
///
/// ```no_run
/// use std::time::Duration;
///
/// static JOBS: expvar::Counter = expvar::Counter::new();
/// expvar::publish("jobs", &JOBS).unwrap();
///
/// let pusher = expvar::RemoteWrite::new("http://prometheus:9090/api/v1/write")
///     .interval(Duration::from_secs(15))
///     .label("job", "batch-import")
///     .label("instance", "worker-1")
///     .start()?;
/// JOBS.inc();
/// // A batch job pushes once more before it exits (dropping the handle does too).
/// pusher.flush()?;
/// # Ok::<(), expvar::push::PushError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RemoteWrite {
    settings: Settings,
}

impl RemoteWrite {
    /// A pusher to `url` (`http://` or `https://`, such as
    /// `http://localhost:9090/api/v1/write`), every 15 s, of the global registry.
    /// Nothing is checked until [`start`](Self::start).
    pub fn new(url: &str) -> Self {
        RemoteWrite {
            settings: Settings::new(url, Duration::from_secs(15)),
        }
    }

    /// A pusher to the URL in `EXPVAR_REMOTE_WRITE_URL`, an error naming the variable
    /// if it is not set.
    ///
    /// ```
    /// std::env::remove_var("EXPVAR_REMOTE_WRITE_URL");
    /// let err = expvar::RemoteWrite::from_env().unwrap_err();
    /// assert!(err.to_string().contains("EXPVAR_REMOTE_WRITE_URL"));
    /// ```
    pub fn from_env() -> Result<Self, PushError> {
        let url = env(URL_VAR).ok_or_else(|| PushError::config(format!("{URL_VAR} is not set")))?;
        Ok(RemoteWrite::new(url.trim()))
    }

    settings_methods!();

    /// Checks the settings and starts pushing: the first push is made at once, then
    /// one every interval. An error says what is wrong with the settings (the URL,
    /// a label, the CA file); the receiver itself is not contacted here.
    pub fn start(self) -> Result<PushHandle, PushError> {
        worker::start(&self.settings, RemoteWriteProtocol::default())
    }

    /// The request body one push would send now, without sending it: the
    /// snappy-compressed `WriteRequest`, to look at or to send yourself.
    ///
    /// ```
    /// use expvar::{Counter, Registry};
    /// use std::sync::Arc;
    ///
    /// let registry = Arc::new(Registry::new());
    /// registry.publish("jobs", Arc::new(Counter::new())).unwrap();
    /// let body = expvar::RemoteWrite::new("http://localhost:9090/api/v1/write")
    ///     .registry(registry)
    ///     .encode()
    ///     .unwrap();
    /// assert!(!body.is_empty());
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, PushError> {
        worker::encode_once(&self.settings, RemoteWriteProtocol::default())
    }
}

/// Remote write's part of a pusher: the encoder's buffers, reused from push to push.
struct RemoteWriteProtocol {
    request: Vec<u8>,
    encoder: snap::raw::Encoder,
}

impl Default for RemoteWriteProtocol {
    fn default() -> Self {
        RemoteWriteProtocol {
            request: Vec::new(),
            encoder: snap::raw::Encoder::new(),
        }
    }
}

impl Protocol for RemoteWriteProtocol {
    fn name(&self) -> &'static str {
        "remote_write"
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        vec![
            (CONTENT_ENCODING, HeaderValue::from_static("snappy")),
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            ),
            (
                HeaderName::from_static("x-prometheus-remote-write-version"),
                HeaderValue::from_static("0.1.0"),
            ),
        ]
    }

    fn encode(
        &mut self,
        options: &PrometheusOptions,
        vars: &[(Arc<str>, VarRef)],
        time: SystemTime,
    ) -> (Vec<u8>, usize) {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        let format =
            RemoteWriteFormat::new(std::mem::take(&mut self.request), vars.len() * 2, millis);
        let encoded = render(vars, Mapping::new(options, format, vars.len()));
        let mut body = vec![0; snap::raw::max_compress_len(encoded.request.len())];
        let len = self
            .encoder
            .compress(&encoded.request, &mut body)
            .expect("the output has the room snappy asks for");
        body.truncate(len);
        // The queue counts what batches hold: they hold no more than that.
        body.shrink_to_fit();
        self.request = encoded.request;
        (body, encoded.samples)
    }
}
