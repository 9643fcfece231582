//! What both pushers are told: where, how often, with which labels and credentials;
//! the builder methods they share; and the checks `start()` makes before any push.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::Uri;

use super::error::PushError;
use crate::capture::DEFAULT_RENDER_DEADLINE;
use crate::encode::prometheus::{const_label_conflict, PrometheusOptions};
use crate::registry::RegistryRef;

/// How long the queue keeps pushes that could not be sent, by default.
pub(crate) const DEFAULT_QUEUE_FOR: Duration = Duration::from_secs(600);
/// The most bytes of encoded batches the queue keeps, by default.
pub(crate) const DEFAULT_QUEUE_BYTES: usize = 64 << 20;
/// How long one request may take, by default (OpenTelemetry's default too).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pusher's settings, as its builder collects them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) interval: Duration,
    pub(crate) registry: RegistryRef,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) render_deadline: Duration,
    pub(crate) queue_for: Duration,
    pub(crate) queue_bytes: usize,
}

impl Settings {
    pub(crate) fn new(url: &str, interval: Duration) -> Self {
        Settings {
            url: url.to_owned(),
            interval,
            registry: RegistryRef::default(),
            labels: Vec::new(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            render_deadline: DEFAULT_RENDER_DEADLINE,
            queue_for: DEFAULT_QUEUE_FOR,
            queue_bytes: DEFAULT_QUEUE_BYTES,
        }
    }

    /// Sets header `name` (case-insensitive), replacing one set before.
    pub(crate) fn set_header(&mut self, name: &str, value: String) {
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value));
    }

    pub(crate) fn basic_auth(&mut self, user: &str, password: &str) {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.set_header("authorization", format!("Basic {credentials}"));
    }

    /// The settings checked, in the form the pusher uses.
    pub(crate) fn validate(&self) -> Result<Checked, PushError> {
        let endpoint = Endpoint::parse(&self.url)?;
        let mut options = PrometheusOptions::new();
        for (name, value) in &self.labels {
            options = options.try_const_label(name, value).map_err(|error| {
                PushError::config(format!("label `{name}` is refused")).with_source(error)
            })?;
        }
        // As the server does: only what is written in place, no variable that may block.
        let mut vars = self.registry.snapshot();
        vars.retain(|(_, var)| !var.__may_block());
        if let Some((variable, label)) = const_label_conflict(&options, &vars) {
            return Err(PushError::config(format!(
                "label `{label}` is also a label of the variable {variable:?}, whose series \
                 would carry it as `exported_{label}`"
            )));
        }
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        if let Some(basic) = &endpoint.basic_auth {
            headers.push((AUTHORIZATION, basic.clone()));
        }
        for (name, value) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|error| {
                PushError::config(format!("header name {name:?}")).with_source(error)
            })?;
            let value = HeaderValue::from_str(value).map_err(|error| {
                PushError::config(format!("value of header {name:?}")).with_source(error)
            })?;
            headers.retain(|(existing, _)| *existing != header);
            headers.push((header, value));
        }
        for (what, duration) in [
            ("interval", self.interval),
            ("timeout", self.timeout),
            ("render deadline", self.render_deadline),
        ] {
            if duration.is_zero() {
                return Err(PushError::config(format!(
                    "the {what} must be longer than zero"
                )));
            }
        }
        if self.queue_bytes == 0 {
            return Err(PushError::config("the queue's byte cap must be above zero"));
        }
        // Loaded even for `http://`: a CA file that cannot be read is a mistake to
        // report now, not when the URL changes to `https://`.
        let tls = if endpoint.https || self.ca_file.is_some() {
            Some(super::tls::tls_config(self.ca_file.as_deref())?)
        } else {
            None
        };
        Ok(Checked {
            endpoint,
            options,
            headers,
            tls,
        })
    }
}

/// [`Settings`] checked.
pub(crate) struct Checked {
    pub(crate) endpoint: Endpoint,
    /// The labels, as the mapping's constant labels.
    pub(crate) options: PrometheusOptions,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) https: bool,
    /// The host to connect to (an IPv6 address without its brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The request's URI: the whole URL, for the `Host` header and the path.
    pub(crate) uri: Uri,
    /// `Authorization` from credentials in the URL (`https://user:password@host/`).
    basic_auth: Option<HeaderValue>,
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Endpoint, PushError> {
        let invalid = |why: &str| PushError::config(format!("URL {url:?}: {why}"));
        let parsed: Uri = url
            .parse()
            .map_err(|error| invalid("not a URL").with_source(error))?;
        let https = match parsed.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(invalid(&format!("scheme {other:?} is not http or https"))),
            None => return Err(invalid("no scheme (http:// or https://)")),
        };
        let authority = parsed.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let basic_auth = match authority.as_str().rsplit_once('@') {
            Some((userinfo, _)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |part: &str| {
                    percent_decode(part).ok_or_else(|| invalid("bad %-escape in the credentials"))
                };
                let credentials = format!("{}:{}", decode(user)?, decode(password)?);
                let value = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                );
                Some(
                    HeaderValue::from_str(&value)
                        .map_err(|error| invalid("credentials").with_source(error))?,
                )
            }
            None => None,
        };
        // The request is sent with the URL less its credentials.
        let mut parts = parsed.clone().into_parts();
        let bare_authority = match authority.port() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_owned(),
        };
        parts.authority = Some(
            bare_authority
                .parse()
                .map_err(|error| invalid("host").with_source(error))?,
        );
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(hyper::http::uri::PathAndQuery::from_static("/"));
        }
        let uri =
            Uri::from_parts(parts).map_err(|error| invalid("not a URL").with_source(error))?;
        Ok(Endpoint {
            https,
            host: host.to_owned(),
            port,
            uri,
            basic_auth,
        })
    }

    /// `host:port`, for messages.
    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `%XX` escapes decoded (as in `OTEL_RESOURCE_ATTRIBUTES` and URL credentials);
/// `None` for a broken escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An environment variable, if it is set and not empty.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// An environment variable holding milliseconds (as OpenTelemetry's do), if set.
#[cfg(feature = "otlp")]
pub(crate) fn env_millis(name: &str) -> Result<Option<Duration>, PushError> {
    let Some(value) = env(name) else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<u64>()
        .map(|millis| Some(Duration::from_millis(millis)))
        .map_err(|error| {
            PushError::config(format!("{name}={value:?} is not a number of milliseconds"))
                .with_source(error)
        })
}

/// `key=value,key=value` with `%`-escaped values (W3C baggage, as
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` are written).
#[cfg(feature = "otlp")]
pub(crate) fn key_values(name: &str, value: &str) -> Result<Vec<(String, String)>, PushError> {
    let mut pairs = Vec::new();
    for item in value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let bad = || PushError::config(format!("{name}: {item:?} is not key=value"));
        let (key, value) = item.split_once('=').ok_or_else(bad)?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(bad());
        }
        let value = percent_decode(value).ok_or_else(bad)?;
        pairs.push((percent_decode(key).ok_or_else(bad)?, value));
    }
    Ok(pairs)
}

/// The builder methods both pushers have, written once: `$Type` holds `settings`.
macro_rules! settings_methods {
    () => {
        /// How often to push (default: 15 s for remote write, 60 s for OTLP).
        pub fn interval(mut self, interval: std::time::Duration) -> Self {
            self.settings.interval = interval;
            self
        }

        /// The registry to push (default: the global one).
        pub fn registry(mut self, registry: impl Into<$crate::registry::RegistryRef>) -> Self {
            self.settings.registry = registry.into();
            self
        }

        /// Adds the label `name="value"` to every series (Prometheus's external labels,
        /// such as `instance` or `job`; in OTLP, an attribute of every data point). A
        /// second label of the same name replaces the first; a name `/metrics` writes
        /// itself (see [`RESERVED_LABELS`](crate::prometheus::RESERVED_LABELS)) makes
        /// `start()` fail.
        pub fn label(mut self, name: &str, value: &str) -> Self {
            self.settings
                .labels
                .retain(|(existing, _)| existing != name);
            self.settings
                .labels
                .push((name.to_owned(), value.to_owned()));
            self
        }

        /// Sends `Authorization: Bearer <token>`.
        pub fn bearer_token(mut self, token: &str) -> Self {
            self.settings
                .set_header("authorization", format!("Bearer {token}"));
            self
        }

        /// Sends `Authorization: Basic` with `user` and `password`. Credentials in the
        /// URL (`https://user:password@host/`) do the same.
        pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
            self.settings.basic_auth(user, password);
            self
        }

        /// Sends the header `name: value` with every request (a tenant id, an API key),
        /// replacing one of that name set before.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.settings.set_header(name, value.to_owned());
            self
        }

        /// How long one request may take, connecting included (default 10 s). It also
        /// bounds [`PushHandle::flush`](crate::push::PushHandle::flush) and the flush
        /// when the handle is dropped.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.timeout = timeout;
            self
        }

        /// Trusts the CA certificates in the PEM file at `path` as well as the
        /// system's, for `https://` (a private CA, a test one).
        pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.settings.ca_file = Some(path.into());
            self
        }

        /// How long a variable that may block (a [`Func`](crate::Func), a type of your
        /// own) may take to render before a push leaves it out (default 2 s, as the
        /// server's).
        pub fn render_deadline(mut self, deadline: std::time::Duration) -> Self {
            self.settings.render_deadline = deadline;
            self
        }

        /// How long the queue keeps pushes the receiver has not taken (default 10
        /// minutes): older batches are dropped, counted in `expvar_push_dropped_total`.
        pub fn queue_for(mut self, age: std::time::Duration) -> Self {
            self.settings.queue_for = age;
            self
        }

        /// The most bytes of encoded (compressed) batches the queue keeps (default 64
        /// MiB): beyond it the oldest batches are dropped, counted.
        pub fn queue_bytes(mut self, bytes: usize) -> Self {
            self.settings.queue_bytes = bytes;
            self
        }
    };
}

pub(crate) use settings_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_path_and_credentials() {
        let endpoint = Endpoint::parse("https://user:p%40ss@example.com/api/v1/write").unwrap();
        assert!(endpoint.https);
        assert_eq!(endpoint.host, "example.com");
        assert_eq!(endpoint.port, 443);
        assert_eq!(endpoint.uri.to_string(), "https://example.com/api/v1/write");
        assert_eq!(
            endpoint.basic_auth.unwrap(),
            // user:p@ss
            "Basic dXNlcjpwQHNz"
        );
        let endpoint = Endpoint::parse("http://[::1]:9090").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port), ("::1", 9090));
        assert_eq!(endpoint.uri.path(), "/");
        assert_eq!(endpoint.address(), "[::1]:9090");
        for bad in [
            "localhost:9090/write",
            "ftp://host/",
            "http:///x",
            "not a url",
        ] {
            let error = Endpoint::parse(bad).unwrap_err();
            assert!(error.to_string().contains(bad), "{error}");
        }
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn key_values_are_percent_decoded() {
        let pairs =
            key_values("X", "service.name=api, deployment.environment=prod%2Ceu ,").unwrap();
        assert_eq!(
            pairs,
            [
                ("service.name".to_owned(), "api".to_owned()),
                ("deployment.environment".to_owned(), "prod,eu".to_owned())
            ]
        );
        assert!(key_values("X", "novalue").is_err());
        assert!(key_values("X", "=v").is_err());
        assert!(key_values("X", "k=%zz").is_err());
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let mut settings = Settings::new("http://127.0.0.1:1/", Duration::from_secs(1));
        settings.labels.push(("le".into(), "x".into()));
        let error = settings.validate().err().unwrap();
        assert!(error.to_string().contains("`le`"), "{error}");
        let registry = std::sync::Arc::new(crate::Registry::new());
        let results: std::sync::Arc<crate::Map<crate::Counter>> =
            std::sync::Arc::new(crate::Map::with_label("region"));
        results.add("eu", 1);
        registry.publish("results", results).unwrap();
        let mut settings = Settings::new("http://127.0.0.1:1/", Duration::from_secs(1));
        settings.registry = registry.into();
        settings.labels.push(("region".into(), "x".into()));
        let error = settings.validate().err().unwrap();
        assert!(error.to_string().contains("exported_region"), "{error}");
        let mut settings = Settings::new("http://127.0.0.1:1/", Duration::ZERO);
        assert!(settings.validate().is_err());
        settings.interval = Duration::from_secs(1);
        settings.headers.push(("bad header".into(), "x".into()));
        assert!(settings.validate().is_err());
    }
}
