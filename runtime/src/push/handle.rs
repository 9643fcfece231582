//! [`PushHandle`]: a running pusher, flushed on demand and when dropped.

use std::sync::mpsc::{self, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{PushError, PushErrorKind};

/// What the handle asks of the pusher's thread.
pub(crate) enum Command {
    /// Push now, send the queue, and answer.
    Flush(SyncSender<Result<(), PushError>>),
    /// The same, then end.
    Stop(SyncSender<Result<(), PushError>>),
}

/// A running pusher, from `RemoteWrite::start` or `Otlp::start`.
///
/// Dropping the handle pushes once more and stops the pusher: the drop waits for that
/// last push at most the render deadline plus twice the timeout (a push already under
/// way may have to finish first), then returns, whatever the receiver does.
#[derive(Debug)]
#[must_use = "dropping the handle stops the pusher"]
pub struct PushHandle {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    /// The longest a flush may take.
    bound: Duration,
}

impl PushHandle {
    pub(crate) fn new(
        commands: Sender<Command>,
        thread: JoinHandle<()>,
        render_deadline: Duration,
        timeout: Duration,
    ) -> Self {
        PushHandle {
            commands,
            thread: Some(thread),
            bound: render_deadline + timeout * 2 + Duration::from_millis(250),
        }
    }

    /// Pushes now and waits until the receiver has taken everything queued, or a
    /// push fails, or the timeout passes: what a batch job calls before it exits.
    ///
    /// `Ok` means every queued push was delivered. A failure to retry (the receiver
    /// unreachable, slow or busy) leaves the pushes queued for the pusher's own
    /// retries; a refusal (a 4xx) has dropped them.
    pub fn flush(&self) -> Result<(), PushError> {
        self.ask(Command::Flush).unwrap_or_else(|| {
            Err(PushError::new(
                PushErrorKind::Timeout,
                format!("the flush did not finish within {:?}", self.bound),
            ))
        })
    }

    /// Sends `command` and waits for its answer; `None` if there is none in time.
    fn ask(
        &self,
        command: fn(SyncSender<Result<(), PushError>>) -> Command,
    ) -> Option<Result<(), PushError>> {
        let (answer, answered) = mpsc::sync_channel(1);
        let stopped = || {
            Some(Err(PushError::new(
                PushErrorKind::Stopped,
                "the pusher has stopped",
            )))
        };
        if self.commands.send(command(answer)).is_err() {
            return stopped();
        }
        match answered.recv_timeout(self.bound) {
            Ok(result) => Some(result),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => stopped(),
        }
    }
}

impl Drop for PushHandle {
    fn drop(&mut self) {
        let answered = self.ask(Command::Stop);
        if let Some(Err(error)) = &answered {
            log::warn!(
                "expvar: the last push before stopping failed: {}",
                error.chain()
            );
        }
        // The thread ends right after answering: wait for it then. One that did not
        // answer in time is left to end on its own, so a drop never hangs.
        if let (Some(_), Some(thread)) = (answered, self.thread.take()) {
            let _ = thread.join();
        }
    }
}
