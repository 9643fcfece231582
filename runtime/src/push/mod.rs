//! Pushing the registry to a store: Prometheus remote write ([`RemoteWrite`], feature
//! `remote-write`) and OTLP/HTTP metrics ([`Otlp`], feature `otlp`).
//!
//! A pusher is a thread of its own. Every interval it captures the registry as
//! `/metrics` does (variables that may block run on the capture pool with a deadline,
//! so a hung variable delays nothing), lays the document out in its wire format
//! through the same mapping as `/metrics` (the same series names and labels), and puts
//! the encoded batch at the back of a bounded queue. It then sends the queue, oldest
//! first, over HTTP/1 (HTTPS with rustls): a batch leaves the queue when the receiver
//! takes it, or when the receiver refuses it for good (a 4xx other than 429). A 5xx, a
//! 429, a timeout or a connection error keeps it and retries later, with capped
//! exponential backoff and jitter, or after the receiver's `Retry-After`. The queue
//! holds at most [`queue_for`](RemoteWrite::queue_for) of pushes (10 minutes by default)
//! and [`queue_bytes`](RemoteWrite::queue_bytes) of encoded batches; when either is
//! exceeded, the oldest batch goes, counted. So a receiver that restarts within the
//! queue's time loses no sample, and one that never answers costs bounded memory.
//!
//! The pusher describes itself in the registry it pushes, as the variable
//! `expvar_push`, one entry per protocol (`/metrics`: `expvar_push_samples_total`,
//! `expvar_push_failures_total`, `expvar_push_dropped_total`,
//! `expvar_push_queue_samples`, `expvar_push_last_success_timestamp_seconds`, each
//! labelled `protocol="remote_write"` or `protocol="otlp"`). Pushers of one protocol
//! into one registry add up in the same entry.
//!
//! The HTTP client runs on a current-thread tokio runtime private to the pusher's
//! thread: never on the application's runtime, and never blocking it.

#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "remote-write")]
mod remote_write;

mod client;
mod error;
mod handle;
mod queue;
mod settings;
mod stats;
#[cfg(all(test, any(feature = "otlp", feature = "remote-write")))]
mod test_vars;
mod tls;
mod worker;

pub use error::{PushError, PushErrorKind};
pub use handle::PushHandle;
#[cfg(feature = "otlp")]
pub use otlp::Otlp;
#[cfg(feature = "remote-write")]
pub use remote_write::RemoteWrite;
/// The TLS library the pushers use, for the [`tls_config`] it returns.
pub use rustls;
pub use tls::tls_config;
