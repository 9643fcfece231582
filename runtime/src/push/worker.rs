//! The pusher's thread: capture, encode and queue every interval; send the queue,
//! oldest first; retry with backoff; answer flushes.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::StatusCode;

use super::client::{Client, Reply};
use super::error::{PushError, PushErrorKind};
use super::handle::{Command, PushHandle};
use super::queue::{Batch, Queue};
use super::settings::{Checked, Settings};
use super::stats::{stats_for, ProtocolStats};
use crate::capture::collect;
use crate::encode::prometheus::PrometheusOptions;
use crate::registry::RegistryRef;
use crate::vars::VarRef;

/// The first wait after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between tries (Prometheus's own remote write waits at most 5 s).
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one wire protocol adds to the pusher: its encoding and how it reads replies.
pub(crate) trait Protocol: Send + 'static {
    /// The `protocol` label of its figures, and the thread's name.
    fn name(&self) -> &'static str;

    /// The headers of every request (content type and encoding, version).
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)>;

    /// `vars` read at `time`, as a request body ready to send (compressed as the
    /// protocol sends it), and the number of samples in it.
    fn encode(
        &mut self,
        options: &PrometheusOptions,
        vars: &[(Arc<str>, VarRef)],
        time: SystemTime,
    ) -> (Vec<u8>, usize);

    /// The samples of a delivered batch that the receiver says it rejected (OTLP's
    /// partial success), logged by the protocol.
    fn rejected(&mut self, reply: &Reply) -> usize {
        let _ = reply;
        0
    }
}

/// `settings` checked, and the pusher's thread started.
pub(crate) fn start<P: Protocol>(
    settings: &Settings,
    protocol: P,
) -> Result<PushHandle, PushError> {
    let checked = settings.validate()?;
    let name = protocol.name();
    let Checked {
        endpoint,
        options,
        headers,
        tls,
    } = checked;
    let url = endpoint.uri.to_string();
    let client = Client::new(endpoint, tls, protocol.headers().into_iter().chain(headers))
        .map_err(|error| {
            PushError::new(PushErrorKind::Thread, "cannot start the pusher's runtime")
                .with_source(error)
        })?;
    let stats = stats_for(&settings.registry, name);
    let (commands, receive) = std::sync::mpsc::channel();
    let worker = Worker {
        protocol,
        options,
        registry: settings.registry.clone(),
        client,
        url,
        queue: Queue::new(settings.queue_for, settings.queue_bytes),
        stats,
        interval: settings.interval,
        timeout: settings.timeout,
        render_deadline: settings.render_deadline,
        backoff: Backoff::default(),
        retry_at: None,
        failing: None,
        dropping: false,
    };
    let thread = std::thread::Builder::new()
        .name(format!("expvar-push-{name}"))
        .spawn(move || worker.run(receive))
        .map_err(|error| {
            PushError::new(PushErrorKind::Thread, "cannot start the pusher's thread")
                .with_source(error)
        })?;
    Ok(PushHandle::new(
        commands,
        thread,
        settings.render_deadline,
        settings.timeout,
    ))
}

/// The body one push would send now, encoded by `protocol` (what `encode()` gives).
pub(crate) fn encode_once<P: Protocol>(
    settings: &Settings,
    mut protocol: P,
) -> Result<Vec<u8>, PushError> {
    let checked = settings.validate()?;
    let vars = collect(settings.registry.snapshot(), settings.render_deadline);
    let (body, _samples) = protocol.encode(&checked.options, &vars, SystemTime::now());
    Ok(body)
}

struct Worker<P> {
    protocol: P,
    options: PrometheusOptions,
    registry: RegistryRef,
    client: Client,
    url: String,
    queue: Queue,
    stats: Arc<ProtocolStats>,
    interval: Duration,
    timeout: Duration,
    render_deadline: Duration,
    backoff: Backoff,
    /// When to try the queue again after a failure.
    retry_at: Option<Instant>,
    /// The failure logged at the start of the current run of failures.
    failing: Option<PushErrorKind>,
    /// Whether the queue is dropping batches (logged once per run).
    dropping: bool,
}

impl<P: Protocol> Worker<P> {
    fn run(mut self, commands: Receiver<Command>) {
        let mut next_push = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_push {
                self.push_now();
                // A push that took longer than the interval skips the ticks it missed.
                while next_push <= Instant::now() {
                    next_push += self.interval;
                }
            }
            if self.retry_at.is_none_or(|at| Instant::now() >= at) {
                let _ = self.send_queue(None);
            }
            let wake = match self.retry_at {
                Some(at) if !self.queue.is_empty() => at.min(next_push),
                _ => next_push,
            };
            let wait = wake.saturating_duration_since(Instant::now());
            match commands.recv_timeout(wait) {
                Ok(Command::Flush(answer)) => {
                    let _ = answer.send(self.flush());
                }
                Ok(Command::Stop(answer)) => {
                    let _ = answer.send(self.flush());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Captures the registry now and queues the batch.
    fn push_now(&mut self) {
        let vars = collect(self.registry.snapshot(), self.render_deadline);
        let time = SystemTime::now();
        let (body, samples) = self.protocol.encode(&self.options, &vars, time);
        drop(vars);
        let dropped = self.queue.push(Batch {
            body: Bytes::from(body),
            samples,
            taken: Instant::now(),
        });
        self.stats.queued(samples as i64 - dropped.samples as i64);
        if dropped.batches > 0 {
            self.stats.dropped(dropped.samples);
            if !self.dropping {
                log::warn!(
                    "expvar: {} queue for {} is full: dropped its oldest {} samples (and will \
                     go on dropping the oldest until the receiver takes pushes again)",
                    self.protocol.name(),
                    self.url,
                    dropped.samples
                );
                self.dropping = true;
            }
        }
    }

    /// Pushes now and sends the queue, all within the timeout after the capture.
    fn flush(&mut self) -> Result<(), PushError> {
        self.push_now();
        self.send_queue(Some(Instant::now() + self.timeout))
    }

    /// Sends the queue, oldest first, until it is empty or a batch fails; with
    /// `deadline`, gives up at it.
    fn send_queue(&mut self, deadline: Option<Instant>) -> Result<(), PushError> {
        let expired = self.queue.expire(Instant::now());
        if expired.samples > 0 {
            self.stats.queued(-(expired.samples as i64));
            self.stats.dropped(expired.samples);
        }
        while let Some(batch) = self.queue.front() {
            let (body, samples) = (batch.body.clone(), batch.samples);
            let timeout = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(self.timeout),
                    _ => {
                        return Err(PushError::new(
                            PushErrorKind::Timeout,
                            format!(
                                "{} samples still queued for {} after {:?}",
                                self.queue.samples(),
                                self.url,
                                self.timeout
                            ),
                        ))
                    }
                },
                None => self.timeout,
            };
            let result = self.client.post(body, timeout);
            match result {
                Ok(reply) if reply.status.is_success() => {
                    let rejected = self.protocol.rejected(&reply).min(samples);
                    self.stats.delivered(samples - rejected);
                    self.stats.dropped(rejected);
                    self.taken(samples);
                    if self.failing.take().is_some() {
                        log::info!(
                            "expvar: {} pushes to {} are delivered again",
                            self.protocol.name(),
                            self.url
                        );
                    }
                    self.dropping = false;
                    self.backoff = Backoff::default();
                    self.retry_at = None;
                }
                Ok(reply) if retryable(reply.status) => {
                    let error = self.status_error(&reply, PushErrorKind::Unavailable);
                    let wait = reply.retry_after.unwrap_or_else(|| self.backoff.next());
                    return Err(self.failed(error, wait));
                }
                Ok(reply) => {
                    // Refused for good: sending it again would be refused again.
                    let error = self.status_error(&reply, PushErrorKind::Refused);
                    self.stats.failed();
                    self.stats.dropped(samples);
                    self.taken(samples);
                    self.log_failure(&error, " (batch dropped)");
                    if deadline.is_some() {
                        return Err(error);
                    }
                }
                Err(error) => {
                    let wait = self.backoff.next();
                    return Err(self.failed(error, wait));
                }
            }
        }
        Ok(())
    }

    /// The front batch has left the queue.
    fn taken(&mut self, samples: usize) {
        self.queue.pop();
        self.stats.queued(-(samples as i64));
    }

    /// A failure to retry after `wait` (capped by the queue's time: nothing older is
    /// kept anyway).
    fn failed(&mut self, error: PushError, wait: Duration) -> PushError {
        self.stats.failed();
        self.log_failure(&error, "; retrying");
        let longest = self.queue.max_age().max(MAX_BACKOFF);
        self.retry_at = Some(Instant::now() + wait.min(longest));
        error
    }

    /// Logs the first failure of a run (and a failure of another kind).
    fn log_failure(&mut self, error: &PushError, then: &str) {
        if self.failing != Some(error.kind()) {
            log::warn!(
                "expvar: {} push to {} failed: {}{then}",
                self.protocol.name(),
                self.url,
                error.chain()
            );
            self.failing = Some(error.kind());
        }
    }

    fn status_error(&self, reply: &Reply, kind: PushErrorKind) -> PushError {
        let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(256)]);
        let text = text.trim();
        let said = if text.is_empty() || !text.chars().all(|c| !c.is_control() || c == '\n') {
            String::new()
        } else {
            format!(": {}", text.replace('\n', " "))
        };
        PushError::new(
            kind,
            format!("{} answered {}{said}", self.url, reply.status),
        )
    }
}

/// 5xx and 429: the receiver is there but cannot take the batch now.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// Capped exponential backoff with jitter: each wait is between half and all of a
/// delay that doubles from [`MIN_BACKOFF`] up to [`MAX_BACKOFF`].
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let delay = MIN_BACKOFF
            .saturating_mul(1 << self.failures.min(16))
            .min(MAX_BACKOFF);
        self.failures += 1;
        delay.mul_f64(0.5 + 0.5 * jitter())
    }
}

/// A number in `[0, 1)`, different each call (std's randomly keyed hasher: no
/// dependency for a jitter).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter() {
        let mut backoff = Backoff::default();
        let waits: Vec<Duration> = (0..10).map(|_| backoff.next()).collect();
        for (failure, wait) in waits.iter().enumerate() {
            let delay = MIN_BACKOFF.saturating_mul(1 << failure).min(MAX_BACKOFF);
            assert!(*wait >= delay / 2 && *wait <= delay, "{failure}: {wait:?}");
        }
        assert!(waits[9] >= MAX_BACKOFF / 2);
    }

    #[test]
    fn only_server_errors_and_429_are_retried() {
        for (status, retried) in [
            (500, true),
            (503, true),
            (429, true),
            (400, false),
            (404, false),
            (301, false),
        ] {
            assert_eq!(
                retryable(StatusCode::from_u16(status).unwrap()),
                retried,
                "{status}"
            );
        }
    }
}
