//! The pushers' HTTP client: HTTP/1.1 POSTs over one kept-alive connection, plain or
//! TLS, driven by a current-thread tokio runtime that belongs to the pusher's thread.
//!
//! hyper's connection API is enough here (one endpoint, one request at a time), and
//! its crates are those the server already builds; no connection pool is needed.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, HOST, RETRY_AFTER, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{PushError, PushErrorKind};
use super::settings::Endpoint;

/// The most of a reply's body that is read (an OTLP partial success, an error text).
const MAX_REPLY: usize = 64 << 10;

/// A receiver's answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// `Retry-After`, as a delay from now.
    pub(crate) retry_after: Option<Duration>,
    /// The body, up to 64 KiB.
    pub(crate) body: Bytes,
}

/// An HTTP client for one endpoint.
pub(crate) struct Client {
    runtime: tokio::runtime::Runtime,
    connection: Connection,
}

struct Connection {
    endpoint: Endpoint,
    tls: Option<TlsConnector>,
    /// `Host`, `User-Agent`, then the protocol's and the user's headers.
    headers: HeaderMap,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The task driving the connection: ended with it, so a connection given up on (a
    /// receiver that hangs) does not linger.
    driver: Option<tokio::task::JoinHandle<()>>,
}

impl Client {
    /// A client for `endpoint` sending `headers` with every request.
    pub(crate) fn new(
        endpoint: Endpoint,
        tls: Option<Arc<rustls::ClientConfig>>,
        headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    ) -> std::io::Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let mut map = HeaderMap::new();
        let host = endpoint
            .uri
            .authority()
            .map(|authority| authority.as_str())
            .unwrap_or(&endpoint.host);
        if let Ok(host) = HeaderValue::from_str(host) {
            map.insert(HOST, host);
        }
        map.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("expvar/", env!("CARGO_PKG_VERSION"))),
        );
        for (name, value) in headers {
            map.insert(name, value);
        }
        Ok(Client {
            runtime,
            connection: Connection {
                endpoint,
                tls: tls.map(TlsConnector::from),
                headers: map,
                sender: None,
                driver: None,
            },
        })
    }

    /// POSTs `body`; the reply, whatever its status, or why there is none. Everything
    /// (connecting, TLS, sending, the reply's body) takes at most `timeout`.
    pub(crate) fn post(&mut self, body: Bytes, timeout: Duration) -> Result<Reply, PushError> {
        let connection = &mut self.connection;
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, connection.post(body)).await });
        let result = result.unwrap_or_else(|_| {
            Err(PushError::new(
                PushErrorKind::Timeout,
                format!(
                    "{} did not answer within {timeout:?}",
                    self.connection.endpoint.address()
                ),
            ))
        });
        if result.is_err() {
            // Whatever state the connection is in, the next request starts afresh.
            self.connection.close();
        }
        result
    }
}

impl Connection {
    /// Drops the connection, if there is one.
    fn close(&mut self) {
        self.sender = None;
        if let Some(driver) = self.driver.take() {
            driver.abort();
        }
    }

    async fn post(&mut self, body: Bytes) -> Result<Reply, PushError> {
        // A kept-alive connection the receiver closed meanwhile fails before any
        // reply: that is tried once more on a new connection.
        let reused = self
            .sender
            .as_ref()
            .is_some_and(|sender| !sender.is_closed());
        match self.exchange(body.clone()).await {
            Err(error) if reused && error.kind() == PushErrorKind::Unreachable => {
                self.close();
                self.exchange(body).await
            }
            result => result,
        }
    }

    async fn exchange(&mut self, body: Bytes) -> Result<Reply, PushError> {
        let path = self
            .endpoint
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        let mut request = Request::post(path)
            .body(Full::new(body))
            .expect("a checked URI makes a request");
        *request.headers_mut() = self.headers.clone();
        let address = self.endpoint.address();
        let sender = self.sender().await?;
        let unreachable = |error: hyper::Error| {
            PushError::new(
                PushErrorKind::Unreachable,
                format!("no HTTP reply from {address}"),
            )
            .with_source(error)
        };
        let response = sender.send_request(request).await.map_err(unreachable)?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_REPLY)
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .map_err(|error| {
                PushError::new(
                    PushErrorKind::Unreachable,
                    format!("reading the reply of {address}"),
                )
                .with_source(error)
            })?;
        Ok(Reply {
            status: parts.status,
            retry_after: parts
                .headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| retry_after(value, SystemTime::now())),
            body,
        })
    }

    /// The kept-alive connection, or a new one.
    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, PushError> {
        if let Some(sender) = &mut self.sender {
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Ok(self.sender.as_mut().expect("checked above"));
            }
        }
        self.close();
        let address = self.endpoint.address();
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|error| {
                PushError::new(
                    PushErrorKind::Unreachable,
                    format!("cannot connect to {address}"),
                )
                .with_source(error)
            })?;
        let _ = tcp.set_nodelay(true);
        let handshake = |error: hyper::Error| {
            PushError::new(
                PushErrorKind::Unreachable,
                format!("HTTP handshake with {address}"),
            )
            .with_source(error)
        };
        let sender = match (&self.tls, self.endpoint.https) {
            (Some(tls), true) => {
                let name = ServerName::try_from(self.endpoint.host.clone()).map_err(|error| {
                    PushError::new(
                        PushErrorKind::Tls,
                        format!("TLS name {:?}", self.endpoint.host),
                    )
                    .with_source(error)
                })?;
                let stream = tls.connect(name, tcp).await.map_err(|error| {
                    PushError::new(
                        PushErrorKind::Tls,
                        format!("TLS handshake with {address} failed"),
                    )
                    .with_source(error)
                })?;
                let (sender, connection) = http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(handshake)?;
                self.driver = Some(tokio::spawn(async move {
                    let _ = connection.await;
                }));
                sender
            }
            _ => {
                let (sender, connection) = http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(handshake)?;
                self.driver = Some(tokio::spawn(async move {
                    let _ = connection.await;
                }));
                sender
            }
        };
        Ok(self.sender.insert(sender))
    }
}

/// A `Retry-After` value (seconds, or an HTTP date) as a delay after `now`.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the
/// date form HTTP senders must use.
fn http_date(value: &str) -> Option<u64> {
    let (_weekday, rest) = value.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|name| *name == month)? as i64 + 1;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hours, minutes, seconds) = (clock.next()??, clock.next()??, clock.next()??);
    if !(1..=31).contains(&day) || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let days = u64::try_from(days).ok()?;
    Some(days * 86_400 + hours * 3600 + minutes * 60 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        // A date already past: retry now.
        assert_eq!(
            retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        for bad in [
            "soon",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }
}
