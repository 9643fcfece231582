//! Responses: the body type every endpoint answers with, content types, and the
//! plain-text answers (refusals, errors) the endpoints share. A leaf: it uses nothing
//! else of the server.

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

/// The response body of [`ExpvarService`](super::ExpvarService): a whole document, or the dashboard's
/// endless stream of samples. A [`hyper::body::Body`] of [`Bytes`] that never fails.
pub struct Body(BoxBody<Bytes, Infallible>);

impl Body {
    pub(crate) fn new<B>(body: B) -> Self
    where
        B: hyper::body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
    {
        Body(body.boxed())
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").finish_non_exhaustive()
    }
}

pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";
pub(crate) const HTML: &str = "text/html; charset=utf-8";
/// Prometheus rule files (RFC 9512).
pub(crate) const YAML: &str = "application/yaml; charset=utf-8";

/// A 503 that asks the client to come back in a second.
pub(crate) fn busy(reason: &'static str) -> Response<Body> {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, reason);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

pub(crate) fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    with_type(status, TEXT, body)
}

pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(body.into())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Live data: a cached copy is a wrong copy.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `fmt::Write` into a [`BytesMut`]: formats a number or a small header straight into
/// a body being built.
pub(crate) struct Utf8Mut<'a>(pub(crate) &'a mut BytesMut);

impl std::fmt::Write for Utf8Mut<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}
