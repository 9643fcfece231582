//! The dashboard's one shared sampler: reads the registry once per tick for every open
//! dashboard, however many there are.
//!
//! The sampler is a thread of its own, started when the first dashboard client connects
//! and ended at the first tick with no client left (or at once when the dashboards are
//! closed). Sampling runs variables' code, so it never runs on an async thread; a
//! thread that lives as long as the dashboards are open is handed no job, channel or
//! future per tick, so a tick allocates nothing once its buffers have grown. Variables
//! that may block are still rendered on the worker pool with the render deadline (see
//! `collect.rs`), so a hung variable delays a tick by the deadline at most and holds
//! one pool thread, however long it hangs.
//!
//! Each tick is posted on a [`Board`] (`board.rs`) that holds only the latest one:
//! posting never waits for a client, and a client that is slow to read skips to the
//! newest tick instead of queueing old ones. Clients are counted and capped, so a burst of tabs
//! cannot grow the server without bound.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::board::{Board, Latest};
use super::tick::{Schema, Tick};
use crate::capture::collect;
use crate::encode::json::write_escaped;
use crate::encode::sample::{self, LeafKey};
use crate::registry::{Registry, RegistryRef};
use crate::server::http::Utf8Mut;
use crate::vars::VarRef;

/// How often the sampler reads the registry.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Ticks sent earlier that the sampler keeps to write the next ones into. Two are
/// enough while every client reads on time (one being sent, one to write); the others
/// cover a client that is a tick or two behind.
const SPARE_TICKS: usize = 4;

/// The dashboard clients of one service, and the sampler they share.
#[derive(Debug)]
pub(crate) struct Hub {
    max_clients: usize,
    /// What the samples are of.
    registry: RegistryRef,
    /// How long a sample waits for a variable that may block.
    render_deadline: Duration,
    clients: AtomicUsize,
    sampler: Mutex<Option<Running>>,
    /// Wakes the sampler's thread when its sampler is stopped, so it ends at once.
    stopped: Condvar,
    generations: AtomicU64,
    closed: AtomicBool,
}

/// The registration of the sampler running now; dropping it ends its clients' streams.
#[derive(Debug)]
struct Running {
    generation: u64,
    board: Arc<Board>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.board.close();
    }
}

/// Why a client was not subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The cap on concurrent dashboard clients is reached.
    Full,
    /// No thread could be started for the sampler.
    NoThread,
    /// The server is stopping.
    Closed,
}

/// A subscribed client: the latest samples, and its place under the cap until dropped.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) latest: Latest,
    pub(crate) slot: ClientSlot,
}

/// Holds one of the capped client places; gives it back when dropped.
#[derive(Debug)]
pub(crate) struct ClientSlot(Arc<Hub>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    pub(crate) fn new(
        max_clients: usize,
        registry: RegistryRef,
        render_deadline: Duration,
    ) -> Self {
        Hub {
            max_clients,
            registry,
            render_deadline,
            clients: AtomicUsize::new(0),
            sampler: Mutex::new(None),
            stopped: Condvar::new(),
            generations: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Ends every subscription (their streams end) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut sampler = self.lock();
        self.closed.store(true, Ordering::Release);
        // Dropping the registration ends every client's stream; the thread ends at once.
        *sampler = None;
        self.stopped.notify_all();
    }

    /// Dashboard clients connected now.
    #[cfg(test)]
    pub(crate) fn clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }

    /// Takes a client place and subscribes to the samples, starting the sampler if none
    /// runs.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Result<Subscription, Refusal> {
        let taken = self
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |clients| {
                (clients < self.max_clients).then_some(clients + 1)
            });
        if taken.is_err() {
            return Err(Refusal::Full);
        }
        let slot = ClientSlot(Arc::clone(self));
        let mut sampler = self.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(Refusal::Closed);
        }
        let board = match &*sampler {
            Some(running) => Arc::clone(&running.board),
            None => {
                let board = Arc::new(Board::default());
                let generation = self.generations.fetch_add(1, Ordering::Relaxed);
                let (hub, posting) = (Arc::clone(self), Arc::clone(&board));
                // The thread starts by taking the lock held here, so it finds itself
                // registered.
                let started = std::thread::Builder::new()
                    .name("expvar-dashboard".into())
                    .spawn(move || run(&hub, generation, &posting));
                if let Err(error) = started {
                    log::warn!("expvar: no thread to sample for the dashboard: {error}");
                    return Err(Refusal::NoThread);
                }
                *sampler = Some(Running {
                    generation,
                    board: Arc::clone(&board),
                });
                board
            }
        };
        Ok(Subscription {
            latest: Latest::new(board),
            slot,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        // The guarded value is replaced whole, so a panic cannot leave it half-written.
        self.sampler.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `at`. `false` when the sampler `generation` was stopped meanwhile,
    /// or has no client left (it is then unregistered).
    ///
    /// Deciding to stop, and unregistering, under the lock that `subscribe` takes means
    /// a client either joins this sampler before it stops or finds none and starts
    /// another.
    fn wait_for_tick(&self, generation: u64, at: Instant) -> bool {
        let mut sampler = self.lock();
        loop {
            if sampler.as_ref().map(|running| running.generation) != Some(generation) {
                return false;
            }
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sampler = self
                .stopped
                .wait_timeout(sampler, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if self.clients.load(Ordering::Acquire) == 0 {
            *sampler = None;
            return false;
        }
        true
    }
}

/// The sampler's thread: one tick per [`INTERVAL`] while it has clients.
fn run(hub: &Hub, generation: u64, board: &Board) {
    let _registration = Registration { hub, generation };
    let mut sampler = Sampler::default();
    let mut next = Instant::now();
    while hub.wait_for_tick(generation, next) {
        // A variable that panics is written as absent by the encoder.
        let tick = sampler.sample(&hub.registry, hub.render_deadline);
        sampler.recycle(board.post(tick));
        // A tick that ran late (a variable held it up to the deadline) is followed by
        // the next one at once, not by a burst of the missed ones.
        next = (next + INTERVAL).max(Instant::now());
    }
}

/// Unregisters a sampler whose thread ends, however it ends (a panic would be a bug
/// here), so that its clients' streams end (the pages reconnect) and the next client
/// starts another sampler.
struct Registration<'a> {
    hub: &'a Hub,
    generation: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut sampler = self.hub.lock();
        if sampler.as_ref().map(|running| running.generation) == Some(self.generation) {
            *sampler = None;
        }
    }
}

/// Turns registry snapshots into [`Tick`]s, reusing the schema while the shape holds.
///
/// After the first ticks a sample of variables that cannot block allocates nothing and
/// keeps nothing: the registry snapshot and the flattening buffers are kept from one
/// tick to the next, and a tick, its `Arc` and its event's bytes are written over once
/// every client has sent them (a tick a client still holds is left alone and a new
/// one allocated). So an open dashboard does not move the heap figures it charts
/// (`tests/test_dashboard_alloc.rs`). A variable that may block (a [`Func`], a
/// user's type) is captured on a worker per tick, which allocates its copy.
///
/// [`Func`]: crate::Func
#[derive(Default)]
struct Sampler {
    schema: Option<Arc<Schema>>,
    next_schema_id: u64,
    samples: u64,
    vars: Vec<(Arc<str>, VarRef)>,
    buffers: sample::Buffers,
    /// Ticks sent earlier, to be written over once no client holds them.
    spares: Vec<Arc<Tick>>,
}

impl Sampler {
    /// Keeps a replaced tick to write a later one into.
    fn recycle(&mut self, replaced: Option<Arc<Tick>>) {
        if let Some(tick) = replaced {
            if self.spares.len() < SPARE_TICKS {
                self.spares.push(tick);
            }
        }
    }

    /// A spare tick that nobody else holds, with its event's buffer cleared; or a new
    /// tick and buffer.
    fn unused_tick(&mut self, schema: &Arc<Schema>) -> (Arc<Tick>, BytesMut) {
        for index in 0..self.spares.len() {
            let Some(tick) = Arc::get_mut(&mut self.spares[index]) else {
                continue;
            };
            // A client's connection may still hold the bytes after the tick.
            match std::mem::take(&mut tick.event).try_into_mut() {
                Ok(mut event) => {
                    event.clear();
                    return (self.spares.swap_remove(index), event);
                }
                Err(held) => tick.event = held,
            }
        }
        let tick = Arc::new(Tick {
            schema: Arc::clone(schema),
            event: Bytes::new(),
            id: 0,
        });
        let mut event = BytesMut::with_capacity(1024);
        // Splitting turns the buffer into one with a shared header, allocated once
        // here: such a buffer round-trips through `freeze` and `try_into_mut` as is,
        // where a plain one would get a new header at every `freeze`.
        drop(event.split_to(0));
        (tick, event)
    }

    fn sample(&mut self, registry: &Registry, deadline: Duration) -> Arc<Tick> {
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        registry.snapshot_into(&mut self.vars);
        let previous = self.schema.as_ref().map(|schema| &schema.keys[..]);
        // Variables that may block were captured on workers, with the deadline.
        self.vars = collect(std::mem::take(&mut self.vars), deadline);
        let flat = sample::flatten_with(&self.vars, previous, &mut self.buffers);
        // The registry's variables are not held between ticks.
        self.vars.clear();
        let schema = match (flat.keys, &self.schema) {
            (None, Some(schema)) => Arc::clone(schema),
            (keys, _) => {
                let schema = Arc::new(render_schema(self.next_schema_id, keys.unwrap_or_default()));
                self.next_schema_id += 1;
                self.schema = Some(Arc::clone(&schema));
                schema
            }
        };
        let (mut tick, mut event) = self.unused_tick(&schema);
        event.reserve(32 + flat.values.len() * 8);
        self.samples += 1;
        let _ = write!(
            Utf8Mut(&mut event),
            "id: {}\nevent: sample\ndata: {{\"t\":{time_ms},\"s\":{},\"v\":[",
            self.samples,
            schema.id
        );
        for (index, value) in flat.values.iter().enumerate() {
            if index > 0 {
                event.extend_from_slice(b",");
            }
            if value.is_finite() {
                event.extend_from_slice(ryu::Buffer::new().format_finite(*value).as_bytes());
            } else {
                event.extend_from_slice(b"null");
            }
        }
        event.extend_from_slice(b"]}\n\n");
        self.buffers.values = flat.values;
        let fresh = Tick {
            schema,
            event: event.freeze(),
            id: self.samples,
        };
        // The tick was either just made or taken because nobody held it, so it is
        // unique; a new one otherwise, rather than a panic.
        if let Some(unused) = Arc::get_mut(&mut tick) {
            *unused = fresh;
            tick
        } else {
            Arc::new(fresh)
        }
    }
}

fn render_schema(id: u64, leaves: Vec<LeafKey>) -> Schema {
    let mut out = Vec::with_capacity(64 + leaves.len() * 32);
    let _ = write!(
        Utf8(&mut out),
        "event: schema\ndata: {{\"id\":{id},\"interval_ms\":{},\"leaves\":[",
        INTERVAL.as_millis()
    );
    for (index, leaf) in leaves.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        let _ = write!(Utf8(&mut out), "[\"{}\",[", leaf.kind.code());
        for (position, segment) in leaf.path.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            // Escaped JSON never holds a raw newline, which would end the SSE event.
            write_escaped(&mut out, segment);
        }
        let _ = write!(Utf8(&mut out), "],{}]", leaf.map_keys);
    }
    out.extend_from_slice(b"]}\n\n");
    Schema {
        id,
        event: Bytes::from(out),
        keys: leaves,
    }
}

/// `fmt::Write` into the event being built.
/// `fmt::Write` into a byte buffer, for ASCII formatting next to escaped strings.
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_kept_while_the_shape_holds() {
        let mut sampler = Sampler::default();
        let first = sampler.sample(Registry::global(), Duration::from_secs(5));
        let second = sampler.sample(Registry::global(), Duration::from_secs(5));
        assert!(Arc::ptr_eq(&first.schema, &second.schema));
        let schema: serde_json::Value = parse_event(&first.schema.event, "schema");
        let leaves = schema["leaves"].as_array().unwrap();
        let sample: serde_json::Value = parse_event(&second.event, "sample");
        assert_eq!(sample["s"], schema["id"]);
        assert_eq!(sample["v"].as_array().unwrap().len(), leaves.len());
    }

    #[test]
    fn the_cap_refuses_extra_clients() {
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        let first = hub.subscribe().unwrap();
        let _second = hub.subscribe().unwrap();
        assert_eq!(hub.subscribe().unwrap_err(), Refusal::Full);
        drop(first);
        assert_eq!(hub.clients(), 1);
        assert!(hub.subscribe().is_ok());
    }

    #[test]
    fn every_client_gets_the_ticks_until_the_hub_closes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        let mut first = hub.subscribe().unwrap();
        let mut second = hub.subscribe().unwrap();
        let next = |latest: &mut Latest| {
            runtime.block_on(async {
                let next = std::future::poll_fn(|cx| latest.poll_next(cx));
                tokio::time::timeout(Duration::from_secs(10), next).await
            })
        };
        let one = next(&mut first.latest)
            .expect("a tick")
            .expect("not closed");
        let two = next(&mut second.latest)
            .expect("a tick")
            .expect("not closed");
        assert!(
            one.event.starts_with(b"id: ")
                && one.event.windows(14).any(|w| w == b"event: sample\n")
        );
        assert!(
            two.event.starts_with(b"id: ")
                && two.event.windows(14).any(|w| w == b"event: sample\n")
        );
        // Taken: the next one is a later tick.
        let later = next(&mut first.latest)
            .expect("a tick")
            .expect("not closed");
        assert!(!Arc::ptr_eq(&one, &later));
        hub.close();
        assert!(next(&mut first.latest).expect("ends at once").is_none());
        assert!(next(&mut second.latest).expect("ends at once").is_none());
        drop((first, second));
        assert_eq!(hub.subscribe().unwrap_err(), Refusal::Closed);
    }

    #[test]
    fn the_sampler_ends_with_its_last_client_and_restarts() {
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        let first = hub.subscribe().unwrap();
        drop(first);
        // The thread unregisters at its next tick; a new client then starts another.
        let deadline = Instant::now() + Duration::from_secs(10);
        while hub.lock().is_some() {
            assert!(Instant::now() < deadline, "the sampler did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut again = hub.subscribe().unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while again.latest.take().is_none() {
            assert!(Instant::now() < until, "no tick from the new sampler");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_tick_nobody_holds_is_written_over() {
        let mut sampler = Sampler::default();
        let first = sampler.sample(Registry::global(), Duration::from_secs(5));
        let (tick, bytes) = (Arc::as_ptr(&first), first.event.as_ptr());
        sampler.recycle(Some(first));
        let second = sampler.sample(Registry::global(), Duration::from_secs(5));
        assert_eq!(Arc::as_ptr(&second), tick);
        assert_eq!(second.event.as_ptr(), bytes);
        // A client still sending the event's bytes keeps them from being written over.
        let held = second.event.clone();
        sampler.recycle(Some(second));
        let third = sampler.sample(Registry::global(), Duration::from_secs(5));
        assert_ne!(third.event.as_ptr(), held.as_ptr());
        assert!(held.starts_with(b"id: "));
    }

    fn parse_event(event: &[u8], name: &str) -> serde_json::Value {
        let text = std::str::from_utf8(event).unwrap();
        // Samples carry an `id:` line first; schemas do not.
        let text = match text.strip_prefix("id: ") {
            Some(rest) => rest.split_once('\n').unwrap().1,
            None => text,
        };
        let data = text
            .strip_prefix(&format!("event: {name}\ndata: "))
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .unwrap();
        serde_json::from_str(data).unwrap()
    }
}
