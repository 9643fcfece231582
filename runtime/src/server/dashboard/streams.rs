//! Dropping dashboard streams whose page reads nothing, whatever the socket buffers hold.
//!
//! A client that stops reading is only noticed by the write timeout once the kernel's
//! buffers (its receive window and our send buffer) are full, which at one small
//! sample a second takes minutes; and TCP cannot tell a peer that reads from one that
//! does not before then. So the page says what it has received: every stream starts
//! with a `stream` event naming it (a random 64-bit id, so no other client can speak
//! for it) with SSE `id: 0`, every sample carries the sampler's count as its `id:`, and
//! the page posts `<events path>/ack?stream=<id>&seen=<last id>`. A stream is dropped
//! (its body ends, its place is freed) once an event it sent has waited
//! [`Streams::timeout`] without being acknowledged, timed from when the stream handed
//! the event to the connection. Its first event is sent when it opens, so a client
//! that never acknowledges is dropped that long after opening. A watchdog task per
//! stream sleeps until the oldest outstanding event's deadline, so the drop comes on
//! time (to the timer's millisecond), not at the next sample.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use tokio::task::AbortHandle;

use super::sampler::ClientSlot;

/// The shortest acknowledgement timeout: a page acknowledges within a quarter of it, and
/// a hidden tab's timers may fire a second late.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Unacknowledged events remembered one by one; past that, the newest entry stands for
/// several, timed by the oldest of them (so a stream is never kept longer, only dropped
/// up to a few events sooner).
const OUTSTANDING: usize = 8;

/// The open streams of one service, by id, and how long an event may go unacknowledged.
#[derive(Debug)]
pub(crate) struct Streams {
    timeout: Duration,
    open: Mutex<HashMap<u64, Arc<Stream>>>,
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckError {
    /// No open stream has this id: it never existed, or it has ended.
    Unknown,
    /// The stream has not sent an event with this id yet.
    NotSent,
}

impl Streams {
    pub(crate) fn new(timeout: Duration) -> Self {
        Streams {
            timeout: timeout.max(MIN_TIMEOUT),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// How long an event may wait for its acknowledgement.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Registers a new stream holding `slot` and starts its watchdog; the stream is
    /// forgotten when the returned membership is dropped. Needs a tokio runtime.
    pub(crate) fn open(self: &Arc<Self>, slot: ClientSlot) -> Membership {
        let mut open = self.lock();
        let mut id = random_id();
        while open.contains_key(&id) {
            id = random_id();
        }
        let stream = Arc::new(Stream {
            id,
            ledger: Mutex::new(Ledger::new(Instant::now())),
            slot: Mutex::new(Some(slot)),
            dropped: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        open.insert(id, Arc::clone(&stream));
        drop(open);
        let watchdog = tokio::spawn(watch(Arc::clone(self), Arc::clone(&stream)));
        Membership {
            streams: Arc::clone(self),
            stream,
            watchdog: watchdog.abort_handle(),
        }
    }

    /// Records that the page of stream `id` has received every event up to `seen`.
    pub(crate) fn ack(&self, id: u64, seen: u64) -> Result<(), AckError> {
        let stream = self.lock().get(&id).cloned().ok_or(AckError::Unknown)?;
        let result = stream.ledger().ack(seen);
        result
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Stream>>> {
        // Entries are inserted and removed whole: a panic cannot leave one half-written.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends `stream` for not acknowledging: frees its place, forgets its id, and wakes
    /// its body so that it ends.
    fn drop_stream(&self, stream: &Stream) {
        stream.dropped.store(true, Ordering::Release);
        self.lock().remove(&stream.id);
        drop(lock(&stream.slot).take());
        if let Some(waker) = lock(&stream.waker).take() {
            waker.wake();
        }
    }
}

/// One open stream's acknowledgement state, shared by its body, its watchdog and the
/// acknowledgements.
#[derive(Debug)]
pub(crate) struct Stream {
    id: u64,
    ledger: Mutex<Ledger>,
    /// Its place under the dashboard cap, until it ends or is dropped.
    slot: Mutex<Option<ClientSlot>>,
    dropped: AtomicBool,
    /// The body's task, woken when the stream is dropped.
    waker: Mutex<Option<Waker>>,
}

impl Stream {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }
}

/// A body's hold on its stream: records what it sends, and forgets the stream and
/// stops its watchdog when dropped.
#[derive(Debug)]
pub(crate) struct Membership {
    streams: Arc<Streams>,
    stream: Arc<Stream>,
    watchdog: AbortHandle,
}

impl Membership {
    pub(crate) fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Records that event `id` is handed to the connection now.
    pub(crate) fn sent(&self, id: u64) {
        self.stream.ledger().sent(id, Instant::now());
    }

    /// Whether the stream was dropped; if not, `waker` is woken when it is.
    pub(crate) fn dropped(&self, waker: &Waker) -> bool {
        let mut slot = lock(&self.stream.waker);
        // Checked under the waker's lock, which `drop_stream` takes after setting the
        // flag: either the flag is seen here or the waker stored here is woken.
        if self.stream.dropped.load(Ordering::Acquire) {
            return true;
        }
        if !slot.as_ref().is_some_and(|stored| stored.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
        false
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.watchdog.abort();
        let mut open = self.streams.lock();
        if open
            .get(&self.stream.id)
            .is_some_and(|stream| Arc::ptr_eq(stream, &self.stream))
        {
            open.remove(&self.stream.id);
        }
    }
}

/// Sleeps until the oldest unacknowledged event's deadline, and drops the stream if it
/// is still unacknowledged then.
async fn watch(streams: Arc<Streams>, stream: Arc<Stream>) {
    loop {
        let now = Instant::now();
        // With nothing outstanding, any event sent from now on is due after `now + timeout`.
        let due = stream
            .ledger()
            .oldest_unacknowledged()
            .map_or(now + streams.timeout, |sent| sent + streams.timeout);
        if due <= now {
            log::debug!(
                "expvar: dropped a dashboard stream whose page acknowledged nothing for {:?}",
                streams.timeout
            );
            streams.drop_stream(&stream);
            return;
        }
        tokio::time::sleep_until(due.into()).await;
    }
}

/// The events a stream has sent and its page has not acknowledged, oldest first.
#[derive(Debug)]
struct Ledger {
    /// `(id, sent)`: every event up to `id` (and after the previous entry's) was sent
    /// at `sent` or later. Its capacity is fixed at [`OUTSTANDING`]: recording an event
    /// never allocates.
    outstanding: VecDeque<(u64, Instant)>,
    newest_sent: Option<u64>,
}

impl Ledger {
    fn new(opened: Instant) -> Self {
        let mut outstanding = VecDeque::with_capacity(OUTSTANDING);
        // The stream's first event (`id: 0`) is due from the moment it opens, whatever
        // its connection does with it.
        outstanding.push_back((0, opened));
        Ledger {
            outstanding,
            newest_sent: Some(0),
        }
    }

    fn sent(&mut self, id: u64, at: Instant) {
        self.newest_sent = Some(id);
        if self.outstanding.len() < OUTSTANDING {
            self.outstanding.push_back((id, at));
        } else if let Some(newest) = self.outstanding.back_mut() {
            // Full: the newest entry now covers this event too, keeping its older time.
            newest.0 = id;
        }
    }

    fn ack(&mut self, seen: u64) -> Result<(), AckError> {
        if self.newest_sent.is_none_or(|newest| seen > newest) {
            return Err(AckError::NotSent);
        }
        while self.outstanding.front().is_some_and(|&(id, _)| id <= seen) {
            self.outstanding.pop_front();
        }
        Ok(())
    }

    fn oldest_unacknowledged(&self) -> Option<Instant> {
        self.outstanding.front().map(|&(_, sent)| sent)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each value guarded here is replaced or updated in one step.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stream id no other client can guess: SipHash, keyed from the OS's randomness
/// (std's `RandomState`), of a counter and the time.
fn random_id() -> u64 {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledging_clears_what_was_seen() {
        let start = Instant::now();
        let later = |ms| start + Duration::from_millis(ms);
        let mut ledger = Ledger::new(start);
        assert_eq!(ledger.oldest_unacknowledged(), Some(start));
        ledger.sent(5, later(10));
        ledger.sent(6, later(20));
        assert_eq!(ledger.ack(7), Err(AckError::NotSent));
        ledger.ack(5).unwrap();
        assert_eq!(ledger.oldest_unacknowledged(), Some(later(20)));
        // An older acknowledgement, arriving late, changes nothing.
        ledger.ack(0).unwrap();
        assert_eq!(ledger.oldest_unacknowledged(), Some(later(20)));
        ledger.ack(6).unwrap();
        assert_eq!(ledger.oldest_unacknowledged(), None);
    }

    #[test]
    fn a_full_ledger_keeps_the_oldest_time() {
        let start = Instant::now();
        let mut ledger = Ledger::new(start);
        for id in 1..100 {
            ledger.sent(id, start + Duration::from_millis(id));
        }
        assert!(ledger.outstanding.len() <= OUTSTANDING);
        // Everything up to 50 seen: what is left is timed no later than event 51 was sent.
        ledger.ack(50).unwrap();
        let oldest = ledger.oldest_unacknowledged().unwrap();
        assert!(oldest <= start + Duration::from_millis(51));
        ledger.ack(99).unwrap();
        assert_eq!(ledger.oldest_unacknowledged(), None);
    }

    #[test]
    fn ids_differ() {
        let ids: std::collections::HashSet<u64> = (0..1000).map(|_| random_id()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
