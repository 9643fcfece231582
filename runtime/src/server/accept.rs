//! The accept loop of our own server: connection limits, shedding, timeouts, and the
//! graceful drain when it stops. The service it hands connections to is the same one a
//! user mounts in an application's own server.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

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
    let connections = Arc::new(Semaphore::new(limits.max_connections));
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
                    // Out of file descriptors and the like: back off, keep serving.
                    log::warn!("expvar: accept failed: {error}; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
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
        let (permit, connection) = match Arc::clone(&connections).try_acquire_owned() {
            Ok(permit) => {
                let front = Front::new(&service, false);
                (permit, http.serve_connection(stream, front))
            }
            Err(_) => match Arc::clone(&overflow).try_acquire_owned() {
                Ok(permit) => {
                    let front = Front::new(&service, true);
                    (permit, refusing.serve_connection(stream, front))
                }
                // Far over capacity: closing at once keeps descriptors bounded.
                Err(_) => continue,
            },
        };
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, malformed request).
            let _ = connection.await;
            drop::<OwnedSemaphorePermit>(permit);
        });
    }
    drop(listener);
    // Event streams never finish by themselves: end them, or they would hold the
    // shutdown for the whole grace period.
    service.close_dashboards();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
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
/// `Retry-After` for anything else.
struct Front {
    service: ExpvarService,
    over_capacity: bool,
}

impl Front {
    fn new(service: &ExpvarService, over_capacity: bool) -> Self {
        Front {
            service: service.clone(),
            over_capacity,
        }
    }
}

impl<B> hyper::service::Service<hyper::Request<B>> for Front {
    type Response = hyper::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: hyper::Request<B>) -> ResponseFuture {
        if !self.over_capacity || self.service.is_health(request.uri().path()) {
            hyper::service::Service::call(&self.service, request)
        } else {
            ResponseFuture::ready(busy("503 too many connections\n"))
        }
    }
}
