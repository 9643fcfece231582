//! Where the dashboard's sampler posts each tick for its clients, and how a client
//! waits for the next one without allocating.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

use super::tick::Tick;

/// Where one sampler posts its ticks for its clients.
#[derive(Debug, Default)]
pub(crate) struct Board {
    posted: Mutex<Posted>,
    /// Wakes the clients waiting for a tick, or for the end.
    changed: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Posted {
    latest: Option<Arc<Tick>>,
    /// How many ticks were posted, so a client can tell a new one from one it has sent.
    count: u64,
    /// The sampler has stopped: the streams end.
    closed: bool,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, Posted> {
        // Every update is a few plain assignments, which a panic cannot leave half-done.
        self.posted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `tick` the latest one and wakes the clients; gives back the one it replaces.
    pub(crate) fn post(&self, tick: Arc<Tick>) -> Option<Arc<Tick>> {
        let mut posted = self.lock();
        let replaced = posted.latest.replace(tick);
        posted.count += 1;
        drop(posted);
        self.changed.notify_waiters();
        replaced
    }

    pub(crate) fn close(&self) {
        let mut posted = self.lock();
        posted.closed = true;
        let last = posted.latest.take();
        drop(posted);
        drop(last);
        self.changed.notify_waiters();
    }
}

/// A client's view of its sampler's [`Board`]: the ticks it has not sent yet.
pub(crate) struct Latest {
    board: Arc<Board>,
    /// The count of the last tick taken.
    seen: u64,
    /// The wait for the next post. Boxed once, because it must stay pinned while it is
    /// registered, and written over for every wait: no allocation per tick.
    wake: Pin<Box<OwnedNotified>>,
}

impl std::fmt::Debug for Latest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latest").field("seen", &self.seen).finish()
    }
}

impl Latest {
    pub(crate) fn new(board: Arc<Board>) -> Self {
        let wake = Box::pin(Arc::clone(&board.changed).notified_owned());
        Latest {
            board,
            seen: 0,
            wake,
        }
    }

    /// The latest tick if it was not taken yet; never waits.
    pub(crate) fn take(&mut self) -> Option<Arc<Tick>> {
        let posted = self.board.lock();
        Self::unseen(&mut self.seen, &posted)
    }

    fn unseen(seen: &mut u64, posted: &Posted) -> Option<Arc<Tick>> {
        if posted.count == *seen {
            return None;
        }
        *seen = posted.count;
        posted.latest.clone()
    }

    /// The next tick not taken yet (the newest: a client that was not polled for a
    /// while skips the ones in between), or `None` once the sampler has stopped.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Arc<Tick>>> {
        loop {
            // The wait was created before this look, so a post made after the look
            // still ends it (`Notify` counts the wake-ups since a wait's creation).
            let posted = self.board.lock();
            if posted.closed {
                return Poll::Ready(None);
            }
            if let Some(tick) = Self::unseen(&mut self.seen, &posted) {
                return Poll::Ready(Some(tick));
            }
            drop(posted);
            ready!(self.wake.as_mut().poll(cx));
            // Finished: written over in place by a fresh wait for the next post.
            self.wake
                .set(Arc::clone(&self.board.changed).notified_owned());
        }
    }
}
