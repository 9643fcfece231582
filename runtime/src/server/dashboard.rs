//! The live dashboard: the page (one self-contained HTML document) and the stream of
//! samples it reads (Server-Sent Events).
//!
//! Why Server-Sent Events rather than a WebSocket: the data only flows from server to
//! page, SSE is a plain HTTP response that goes through the same routing, credentials
//! and connection limits as `/debug/vars` (and through a user's own server when the
//! service is mounted), and the browser's `EventSource` reconnects by itself after a
//! server restart. A WebSocket would need an upgrade path and a frame codec for no gain.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::Frame;
use once_cell::sync::Lazy;

use super::sampler::{ClientSlot, Latest, Subscription, Tick};

/// The page, with its script and styles inlined: one request, and it works under any
/// prefix or mount point because it finds its event stream relative to its own URL.
pub(crate) static PAGE: Lazy<Bytes> = Lazy::new(|| {
    let page = include_str!("../../assets/dashboard.html")
        .replacen("/*STYLE*/", include_str!("../../assets/dashboard.css"), 1)
        .replacen("/*SCRIPT*/", include_str!("../../assets/dashboard.js"), 1);
    Bytes::from(page)
});

/// Sent first on every stream: reconnect one second after the connection is lost.
const PREAMBLE: &[u8] = b"retry: 1000\n\n";

/// The body of one dashboard client's event stream: the latest sample each time the
/// sampler takes one, preceded by the schema whenever the schema changes.
pub(crate) struct EventStream {
    /// Bytes to send before waiting for the next sample.
    ready: Option<Bytes>,
    /// The samples not sent yet; waiting for one allocates nothing.
    latest: Latest,
    schema_sent: Option<u64>,
    _slot: ClientSlot,
}

impl EventStream {
    pub(crate) fn new(subscription: Subscription) -> Self {
        let Subscription { mut latest, slot } = subscription;
        let current = latest.take();
        let mut stream = EventStream {
            ready: None,
            latest,
            schema_sent: None,
            _slot: slot,
        };
        let mut first = BytesMut::from(PREAMBLE);
        if let Some(tick) = current {
            first.extend_from_slice(&stream.render(&tick));
        }
        stream.ready = Some(first.freeze());
        stream
    }

    fn render(&mut self, tick: &Tick) -> Bytes {
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
