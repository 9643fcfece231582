//! The accept loop of our own server: connection limits, shedding, timeouts, and the
//! graceful drain when it stops. The service it hands connections to is the same one a
//! user mounts in an application's own server.
//!
//! When every place is taken, a new connection takes the place of the oldest one that
//! is waiting for a request (it has sent no complete request yet, or is idle between
//! requests), which is closed: stalled connections cannot lock out a load balancer's
//! probe, however many there are. Only when every connection is answering a request
//! are newcomers refused (see [`ServerBuilder::max_connections`](super::ServerBuilder::max_connections)).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

use super::http::{busy, Body};
use super::service::{ExpvarService, ResponseFuture};
use super::write_timeout::WriteTimeout;

/// How long [`ServerHandle::shutdown`] lets in-flight requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The send buffer asked for on each connection: what a client that stops reading can
/// leave queued on our side before the write timeout starts counting.
const SEND_BUFFER_BYTES: usize = 16 * 1024;
/// How long a connection beyond the cap may take to send the request it is refused.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long accepting pauses after a failure such as running out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// The least time between two warnings of failing accepts.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What [`run`] holds each connection to, from the [`ServerBuilder`](super::ServerBuilder).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) max_connections: usize,
    pub(super) header_read_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) max_header_bytes: usize,
}

/// Accepts connections for `service` until `stopped` fires, then drains them for a
/// grace period.
pub(super) async fn run(
    service: ExpvarService,
    listener: TcpListener,
    limits: Limits,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut open = Connections::new(limits.max_connections);
    let mut last_warned = None;
    let overflow = Arc::new(Semaphore::new(limits.max_connections / 4 + 1));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let mut refusing = http.clone();
    refusing
        .header_read_timeout(limits.header_read_timeout.min(OVERFLOW_HEADER_TIMEOUT))
        .keep_alive(false);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // The client gave up before we took it: nothing to do (as axum).
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly (the
                    // connections ending meanwhile free some), keep serving; say so
                    // once a minute at most.
                    if last_warned.is_none_or(|at: Instant| at.elapsed() > WARN_EVERY) {
                        log::warn!("expvar: accept failed: {error}; retrying");
                        last_warned = Some(Instant::now());
                    }
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        _ = &mut stopped => break,
                    }
                }
            },
            _ = &mut stopped => break,
        };
        // Bounds what a client that stops reading leaves queued here, so the write
        // timeout starts soon after it stops.
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER_BYTES);
        let stream = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        let mut shed = false;
        let (place, connection) = match open.admit(&mut shed) {
            Some(connection) => {
                let front = Front::new(&service, Some(Arc::clone(&connection)));
                let place = Place::Open(Held(connection));
                (place, http.serve_connection(stream, front))
            }
            None => match Arc::clone(&overflow).try_acquire_owned() {
                Ok(permit) => {
                    let front = Front::new(&service, None);
                    (
                        Place::Overflow(permit),
                        refusing.serve_connection(stream, front),
                    )
                }
                // Far over capacity: closing at once keeps descriptors bounded.
                Err(_) => continue,
            },
        };
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, malformed request).
            match place {
                Place::Open(held) => {
                    tokio::select! {
                        _ = connection => {}
                        // Dropping the connection closes it.
                        () = held.0.shed.notified() => {}
                    }
                }
                Place::Overflow(permit) => {
                    let _ = connection.await;
                    drop::<OwnedSemaphorePermit>(permit);
                }
            }
        });
        if shed {
            // Let the shed connection's task close its socket before the next accept:
            // a burst of newcomers must not hold the descriptors of those they replace.
            tokio::task::yield_now().await;
        }
    }
    drop(listener);
    // Event streams never finish by themselves: end them, or they would hold the
    // shutdown for the whole grace period.
    service.close_dashboards();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// What a connection holds while it is open: one of the places, or one of the few
/// beyond them that are refused.
enum Place {
    Open(Held),
    Overflow(OwnedSemaphorePermit),
}

/// A place, freed when dropped: when the connection's task ends, however it ends.
struct Held(Arc<Connection>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// One connection holding a place.
#[derive(Debug, Default)]
struct Connection {
    /// Requests being answered: from their headers to the end of their response.
    answering: AtomicUsize,
    /// Set once, when the connection ends or is shed; its place is free from then on.
    closed: AtomicBool,
    /// Tells the connection's task to close it.
    shed: Notify,
    /// The places taken, shared by every connection (see [`Connections`]).
    taken: Arc<AtomicUsize>,
}

impl Connection {
    /// Frees the place, once.
    fn close(&self) {
        if !self.closed.swap(true, AcqRel) {
            self.taken.fetch_sub(1, AcqRel);
        }
    }
}

/// The places: open connections, oldest first, owned by the accept loop. A connection
/// frees its place itself when it ends; the list is cleaned of ended ones as it goes.
struct Connections {
    max: usize,
    taken: Arc<AtomicUsize>,
    /// Oldest first; may still hold some that have ended.
    list: VecDeque<Arc<Connection>>,
}

impl Connections {
    fn new(max: usize) -> Self {
        Connections {
            max,
            taken: Arc::default(),
            list: VecDeque::new(),
        }
    }

    /// A place for a new connection: a free one, else the place of the oldest
    /// connection waiting for a request, which is shed. `None` when every connection
    /// is answering a request. Sets `shed` when a connection was shed.
    fn admit(&mut self, shed: &mut bool) -> Option<Arc<Connection>> {
        while self
            .list
            .front()
            .is_some_and(|oldest| oldest.closed.load(Acquire))
        {
            self.list.pop_front();
        }
        if self.list.len() > 2 * self.max {
            self.list
                .retain(|connection| !connection.closed.load(Acquire));
        }
        if self.taken.load(Acquire) >= self.max {
            let waiting = self.list.iter().position(|connection| {
                connection.answering.load(Acquire) == 0 && !connection.closed.load(Acquire)
            })?;
            let oldest = self.list.remove(waiting).expect("a position in the list");
            oldest.close();
            oldest.shed.notify_one();
            *shed = true;
        }
        self.taken.fetch_add(1, AcqRel);
        let connection = Arc::new(Connection {
            taken: Arc::clone(&self.taken),
            ..Connection::default()
        });
        self.list.push_back(Arc::clone(&connection));
        Some(connection)
    }
}

/// An accept error that concerns only the connection being accepted.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The service as one connection sees it. A connection beyond the cap gets health as
/// usual (a load balancer must not take a busy server for a dead one), and `503` with
/// `Retry-After` for anything else. A connection holding a place counts the requests it
/// is answering, so it is not shed while it answers one.
struct Front {
    service: ExpvarService,
    /// `None` beyond the cap.
    place: Option<Arc<Connection>>,
}

impl Front {
    fn new(service: &ExpvarService, place: Option<Arc<Connection>>) -> Self {
        Front {
            service: service.clone(),
            place,
        }
    }
}

impl<B> hyper::service::Service<hyper::Request<B>> for Front {
    type Response = hyper::Response<Answering>;
    type Error = std::convert::Infallible;
    type Future = AnsweringFuture;

    fn call(&self, request: hyper::Request<B>) -> AnsweringFuture {
        let Some(place) = &self.place else {
            let response = if self.service.is_health(request.uri().path()) {
                hyper::service::Service::call(&self.service, request)
            } else {
                ResponseFuture::ready(busy("503 too many connections\n"))
            };
            return AnsweringFuture(response, None);
        };
        place.answering.fetch_add(1, AcqRel);
        let answering = AnsweringGuard(Arc::clone(place));
        AnsweringFuture(
            hyper::service::Service::call(&self.service, request),
            Some(answering),
        )
    }
}

/// Counts a request as being answered until its response has been sent (or dropped).
struct AnsweringGuard(Arc<Connection>);

impl Drop for AnsweringGuard {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, AcqRel);
    }
}

/// The response future, holding the request's count until its body is sent.
struct AnsweringFuture(ResponseFuture, Option<AnsweringGuard>);

impl Future for AnsweringFuture {
    type Output = Result<hyper::Response<Answering>, std::convert::Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.0).poll(cx).map(|response| {
            let guard = this.1.take();
            response.map(|response| {
                response.map(|body| Answering {
                    body,
                    _answering: guard,
                })
            })
        })
    }
}

/// A response body that ends its request's count when it is dropped: once hyper has
/// sent all of it, or the connection ended.
struct Answering {
    body: Body,
    _answering: Option<AnsweringGuard>,
}

impl hyper::body::Body for Answering {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_sheds_the_oldest_connection_waiting_for_a_request() {
        let mut open = Connections::new(3);
        let mut shed = false;
        let first = open.admit(&mut shed).unwrap();
        let second = open.admit(&mut shed).unwrap();
        let third = open.admit(&mut shed).unwrap();
        assert!(!shed);
        // The oldest is answering a request: the next oldest is shed.
        first.answering.fetch_add(1, AcqRel);
        let fourth = open.admit(&mut shed).unwrap();
        assert!(shed && second.closed.load(Acquire));
        assert!(!first.closed.load(Acquire) && !third.closed.load(Acquire));
        assert_eq!(open.taken.load(Acquire), 3);
        // Every connection answering: no place.
        third.answering.fetch_add(1, AcqRel);
        fourth.answering.fetch_add(1, AcqRel);
        assert!(open.admit(&mut shed).is_none());
        // A connection that ends frees its place for the next.
        drop(Held(Arc::clone(&first)));
        assert_eq!(open.taken.load(Acquire), 2);
        assert!(open.admit(&mut shed).is_some());
        assert_eq!(open.taken.load(Acquire), 3);
    }
}
