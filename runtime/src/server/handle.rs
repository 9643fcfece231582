//! What starting a server gives: a [`ServerHandle`] to stop it, or a [`ServeError`]
//! saying why it could not start.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::thread;

use tokio::sync::oneshot;

/// A running debug server. Dropping it stops the server; [`detach`](Self::detach) keeps
/// it running for the rest of the process.
#[must_use = "the server stops when its handle is dropped; keep it, or call `.detach()`"]
pub struct ServerHandle {
    pub(super) local_addr: SocketAddr,
    pub(super) stop: Option<oneshot::Sender<()>>,
    /// The server's thread, when started with [`ServerBuilder::start`](crate::ServerBuilder::start).
    pub(super) thread: Option<thread::JoinHandle<()>>,
    /// Fires when the server task ends, when started with [`ServerBuilder::start_async`](crate::ServerBuilder::start_async).
    pub(super) task: Option<oneshot::Receiver<()>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 seconds) and, for a
    /// server started with [`ServerBuilder::start`](crate::ServerBuilder::start), waits for its thread to end.
    pub fn shutdown(mut self) {
        self.signal();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Like [`shutdown`](Self::shutdown), waiting asynchronously (for servers started
    /// with [`ServerBuilder::start_async`](crate::ServerBuilder::start_async)).
    pub async fn shutdown_async(mut self) {
        self.signal();
        if let Some(finished) = self.task.take() {
            let _ = finished.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Keeps the server running until the process exits.
    pub fn detach(mut self) {
        // Dropping the sender would stop the server; leaking it keeps it open.
        std::mem::forget(self.stop.take());
        self.thread.take();
    }

    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.signal();
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Why a server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be bound (in use, not local, no permission).
    Bind {
        /// The address as given.
        addr: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// An option was given a value the server cannot work with, such as an empty
    /// bearer token, which no request could present.
    InvalidOption {
        /// The builder method, such as `"bearer_token"`.
        option: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// Anything else: the address did not resolve, no thread or runtime could be made.
    Io {
        /// The address as given.
        addr: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl ServeError {
    pub(super) fn io(addr: &str) -> impl FnOnce(io::Error) -> ServeError + '_ {
        move |source| ServeError::Io {
            addr: addr.to_owned(),
            source,
        }
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The cause is the source's to print (`source()`), not repeated here.
            ServeError::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            ServeError::Io { addr, .. } => write!(f, "cannot serve on {addr}"),
            ServeError::InvalidOption { option, reason } => {
                write!(f, "invalid option `{option}`: {reason}")
            }
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Bind { source, .. } | ServeError::Io { source, .. } => Some(source),
            ServeError::InvalidOption { .. } => None,
        }
    }
}
