//! What can go wrong with a pusher: its settings, and a push that did not arrive.

use std::error::Error;
use std::fmt;

/// What kind of failure a [`PushError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushErrorKind {
    /// The settings are wrong: a URL, an environment variable, a refused label, an
    /// unreadable CA file. Reported by `start()` (or `from_env()`), before any push.
    Config,
    /// The pusher's thread could not be started.
    Thread,
    /// A TLS handshake failed: the receiver's certificate is not trusted (add its CA
    /// with `ca_file`), has the wrong name, or TLS was refused. Retried: the batch
    /// stays queued until the receiver's certificate is fixed or the queue drops it.
    Tls,
    /// The receiver could not be reached, or broke the connection, or answered with
    /// something that is not HTTP. Retried.
    Unreachable,
    /// The receiver did not answer within the timeout. Retried.
    Timeout,
    /// The receiver answered with a 5xx or a 429: it is there but cannot take the
    /// batch now. Retried.
    Unavailable,
    /// The receiver refused the batch for good (a 4xx other than 429). Dropped.
    Refused,
    /// The pusher has stopped.
    Stopped,
}

/// A pusher's settings that cannot work, or a push that did not arrive.
///
/// `Display` says what failed; the cause (an I/O or TLS error) is its
/// [`source`](Error::source).
#[derive(Debug)]
pub struct PushError {
    kind: PushErrorKind,
    message: String,
    source: Option<Box<dyn Error + Send + Sync>>,
}

impl PushError {
    pub(crate) fn new(kind: PushErrorKind, message: impl Into<String>) -> Self {
        PushError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        PushError::new(PushErrorKind::Config, message)
    }

    pub(crate) fn with_source(mut self, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> PushErrorKind {
        self.kind
    }

    /// Whether the pusher keeps the batch to try again: the receiver was unreachable,
    /// slow, busy, or its certificate was refused.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            PushErrorKind::Unreachable
                | PushErrorKind::Timeout
                | PushErrorKind::Unavailable
                | PushErrorKind::Tls
        )
    }

    /// The message and its causes on one line, for a log.
    pub(crate) fn chain(&self) -> String {
        let mut line = self.message.clone();
        let mut cause = self.source();
        while let Some(error) = cause {
            line.push_str(": ");
            line.push_str(&error.to_string());
            cause = error.source();
        }
        line
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for PushError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}
