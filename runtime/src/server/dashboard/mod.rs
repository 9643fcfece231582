//! The live dashboard: the page (one self-contained HTML document) and the stream of
//! samples it reads (Server-Sent Events).
//!
//! Why Server-Sent Events rather than a WebSocket: the data only flows from server to
//! page, SSE is a plain HTTP response that goes through the same routing, credentials
//! and connection limits as `/debug/vars` (and through a user's own server when the
//! service is mounted), and the browser's `EventSource` reconnects by itself after a
//! server restart. A WebSocket would need an upgrade path and a frame codec for no gain.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::Empty;
use hyper::body::Frame;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use once_cell::sync::Lazy;

mod board;
mod sampler;
mod streams;
mod tick;

use crate::server::http::{plain, Body, Utf8Mut};
use board::Latest;
pub(crate) use sampler::Hub;
use sampler::{Refusal, Subscription};
pub(crate) use streams::Streams;
use streams::{AckError, Membership};
use tick::Tick;

/// The page, with its script and styles inlined: one request, and it works under any
/// prefix or mount point because it finds its event stream relative to its own URL.
pub(crate) static PAGE: Lazy<Bytes> = Lazy::new(|| {
    let page = include_str!("../../../assets/dashboard.html")
        .replacen(
            "/*STYLE*/",
            include_str!("../../../assets/dashboard.css"),
            1,
        )
        .replacen(
            "/*SCRIPT*/",
            concat!(
                include_str!("../../../assets/objectives.js"),
                include_str!("../../../assets/dashboard.js"),
                include_str!("../../../assets/stream.js")
            ),
            1,
        );
    Bytes::from(page)
});

/// Sent first on every stream: reconnect one second after the connection is lost.
const PREAMBLE: &[u8] = b"retry: 1000\n\n";

/// Opens a dashboard client's event stream, or refuses it with 503.
pub(crate) fn open(hub: &Arc<Hub>, streams: &Arc<Streams>, head: bool) -> Response<Body> {
    let body = if head {
        Body::new(Empty::new())
    } else {
        match hub.subscribe() {
            Ok(subscription) => Body::new(EventStream::new(subscription, streams)),
            Err(refusal) => {
                let reason = match refusal {
                    Refusal::Full => "503 too many dashboard clients\n",
                    Refusal::Closed => "503 the server is stopping\n",
                    Refusal::NoThread => "503 no thread to sample for the dashboard\n",
                };
                let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, reason);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
        }
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tells buffering proxies (nginx) to pass each event on at once.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Answers `POST <events>/ack?stream=<hex id>&seen=<event id>` (other query parameters
/// are ignored): 204, or 400 for a malformed query or an event not sent yet, 404 for a
/// stream that is not open (never was, or has ended).
pub(crate) fn ack(streams: &Streams, query: Option<&str>) -> Response<Body> {
    let (mut stream, mut seen) = (None, None);
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("stream", id)) => stream = u64::from_str_radix(id, 16).ok(),
            Some(("seen", id)) => seen = id.parse::<u64>().ok(),
            _ => {}
        }
    }
    let (Some(stream), Some(seen)) = (stream, seen) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "400 bad request: expected ?stream=<hex id>&seen=<event id>\n",
        );
    };
    match streams.ack(stream, seen) {
        Ok(()) => {
            let mut response = Response::new(Body::new(Empty::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        Err(AckError::Unknown) => plain(
            StatusCode::NOT_FOUND,
            "404 no such dashboard stream: it has ended, or never was\n",
        ),
        Err(AckError::NotSent) => plain(
            StatusCode::BAD_REQUEST,
            "400 bad request: that event has not been sent on this stream\n",
        ),
    }
}

/// The body of one dashboard client's event stream: its `stream` event, then the latest
/// sample each time the sampler takes one, preceded by the schema whenever the schema
/// changes. It ends when the page stops acknowledging (see `streams`).
pub(crate) struct EventStream {
    /// Bytes to send before waiting for the next sample.
    ready: Option<Bytes>,
    /// The samples not sent yet; waiting for one allocates nothing.
    latest: Latest,
    schema_sent: Option<u64>,
    /// Holds the client's place under the cap, until the stream ends or is dropped.
    membership: Membership,
}

impl EventStream {
    pub(crate) fn new(subscription: Subscription, streams: &Arc<Streams>) -> Self {
        let Subscription { mut latest, slot } = subscription;
        let current = latest.take();
        let membership = streams.open(slot);
        let mut first = BytesMut::from(PREAMBLE);
        // `id: 0` is the first event the page acknowledges; its data says to whom.
        let _ = write!(
            Utf8Mut(&mut first),
            "id: 0\nevent: stream\ndata: {{\"stream\":\"{:016x}\",\"ack_ms\":{}}}\n\n",
            membership.stream().id(),
            streams.timeout().as_millis()
        );
        let mut stream = EventStream {
            ready: None,
            latest,
            schema_sent: None,
            membership,
        };
        if let Some(tick) = current {
            first.extend_from_slice(&stream.render(&tick));
        }
        stream.ready = Some(first.freeze());
        stream
    }

    fn render(&mut self, tick: &Tick) -> Bytes {
        self.membership.sent(tick.id);
        if self.schema_sent == Some(tick.schema.id) {
            return tick.event.clone();
        }
        self.schema_sent = Some(tick.schema.id);
        let mut both = BytesMut::with_capacity(tick.schema.event.len() + tick.event.len());
        both.extend_from_slice(&tick.schema.event);
        both.extend_from_slice(&tick.event);
        both.freeze()
    }
}

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.membership.dropped(cx.waker()) {
            return Poll::Ready(None);
        }
        if let Some(bytes) = this.ready.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        // `None`: the sampler is gone (the dashboards were closed); the stream ends and
        // the page reconnects.
        match this.latest.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(tick)) => Poll::Ready(Some(Ok(Frame::data(this.render(&tick))))),
        }
    }
}

/// `fmt::Write` into the first frame being built.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_inlines_script_and_styles() {
        let page = std::str::from_utf8(&PAGE).unwrap();
        assert!(page.starts_with("<!doctype html>"));
        assert!(!page.contains("/*STYLE*/"));
        assert!(!page.contains("/*SCRIPT*/"));
        assert!(page.contains("EventSource"));
        assert!(page.contains("prefers-color-scheme"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
