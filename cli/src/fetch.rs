//! Reading a target's `/debug/vars`: one HTTP/1.1 GET on a fresh connection (TLS for
//! `https://`, with the pushers' settings: the system's roots and `--ca-file`), bounded
//! by a timeout and by [`Limits`], parsed as JSON off the async threads.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use expvar::push::rustls::{self, pki_types::ServerName};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::limits::{within_values, Limits, Over};
use crate::target::Target;

/// The TLS settings of `https://` targets, set once.
static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Trusts the CA certificates of the PEM file `ca_file` for `https://` targets, as well
/// as the system's roots. Call it before the first fetch; an unreadable file is an
/// error that names it.
pub fn use_ca_file(ca_file: &Path) -> Result<(), String> {
    let config = expvar::push::tls_config(Some(ca_file)).map_err(|error| error.to_string())?;
    TLS.set(config)
        .map_err(|_| "the TLS settings are already in use".to_owned())
}

fn tls() -> Result<Arc<rustls::ClientConfig>, FetchError> {
    if let Some(config) = TLS.get() {
        return Ok(Arc::clone(config));
    }
    let config =
        expvar::push::tls_config(None).map_err(|error| FetchError::Http(error.to_string()))?;
    Ok(Arc::clone(TLS.get_or_init(|| config)))
}

/// Anything a request can go over: TCP, or TLS over TCP.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for S {}

/// Why a target could not be read.
#[derive(Debug)]
pub enum FetchError {
    /// No answer within the timeout.
    Timeout,
    /// Connecting, sending or reading failed.
    Http(String),
    /// The target answered with a status other than 200.
    Status(u16),
    /// The body is not JSON.
    Json(String),
    /// The document is over one of the [`Limits`]: refused, not read on.
    TooLarge(Over),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Http(error) => f.write_str(error),
            FetchError::Status(401) => f.write_str("HTTP 401 (check the auth flags)"),
            FetchError::Status(status) => write!(f, "HTTP {status}"),
            FetchError::Json(error) => write!(f, "not JSON: {error}"),
            FetchError::TooLarge(over) => over.fmt(f),
        }
    }
}

impl std::error::Error for FetchError {}

/// A document read from a target, with how long reading it took.
#[derive(Debug)]
pub struct Fetched {
    pub result: Result<Value, FetchError>,
    pub duration: Duration,
}

/// Reads `target`'s document, giving up after `timeout` or past `limits`.
pub async fn fetch(target: &Target, timeout: Duration, limits: Limits) -> Fetched {
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, fetch_unbounded(target, limits)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout),
    };
    Fetched {
        result,
        duration: started.elapsed(),
    }
}

/// Reads every target at once; the results are in the order of `targets`.
pub async fn fetch_all(targets: &[Target], timeout: Duration, limits: Limits) -> Vec<Fetched> {
    let tasks: Vec<_> = targets
        .iter()
        .map(|target| {
            let target = target.clone();
            tokio::spawn(async move { fetch(&target, timeout, limits).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap_or_else(|error| Fetched {
            result: Err(FetchError::Http(error.to_string())),
            duration: Duration::ZERO,
        }));
    }
    results
}

async fn fetch_unbounded(target: &Target, limits: Limits) -> Result<Value, FetchError> {
    let http = |error: &dyn fmt::Display| FetchError::Http(error.to_string());
    let tcp = tokio::net::TcpStream::connect(&target.authority)
        .await
        .map_err(|error| http(&error))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Stream> = if target.https {
        let host = match target.authority.rsplit_once(':') {
            Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
            None => target.authority.as_str(),
        };
        let name = ServerName::try_from(host.to_owned()).map_err(|error| http(&error))?;
        let tls = tokio_rustls::TlsConnector::from(tls()?)
            .connect(name, tcp)
            .await
            .map_err(|error| FetchError::Http(format!("TLS handshake failed: {error}")))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| http(&error))?;
    // The connection is driven beside the request and ends with it.
    let driver = tokio::spawn(connection);
    let mut request = Request::get(target.path.as_str())
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "expvar-cli");
    if let Some(auth) = &target.auth {
        request = request.header(hyper::header::AUTHORIZATION, auth.header());
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|error| http(&error))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| http(&error))?;
    let status = response.status().as_u16();
    if status != 200 {
        driver.abort();
        return Err(FetchError::Status(status));
    }
    // A length announced over the limit is refused before a byte of the body is read.
    let announced = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limits.max_bytes as u64) {
        driver.abort();
        return Err(FetchError::TooLarge(Over::Bytes(limits.max_bytes)));
    }
    let body = Limited::new(response.into_body(), limits.max_bytes)
        .collect()
        .await;
    driver.abort();
    let body = match body {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(FetchError::TooLarge(Over::Bytes(limits.max_bytes)))
        }
        Err(error) => return Err(http(&*error)),
    };
    // Counting and parsing megabytes takes milliseconds: not on an async thread.
    tokio::task::spawn_blocking(move || parse(&body, limits))
        .await
        .unwrap_or_else(|error| Err(http(&error)))
}

/// The document in `body`, if it is JSON within `limits.max_values`.
pub fn parse(body: &[u8], limits: Limits) -> Result<Value, FetchError> {
    if !within_values(body, limits.max_values) {
        return Err(FetchError::TooLarge(Over::Values(limits.max_values)));
    }
    serde_json::from_slice(body).map_err(|error| FetchError::Json(error.to_string()))
}
