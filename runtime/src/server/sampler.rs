//! The dashboard's one shared sampler: reads the registry once per tick for every open
//! dashboard, however many there are.
//!
//! The sampler is a tokio task started when the first dashboard client connects and
//! ended at the first tick with no client left. It publishes each sample through a
//! [`watch`] channel, which holds only the latest one: sending never waits for a
//! client, and a client that is slow to read skips to the newest sample instead of
//! queueing old ones. Clients are counted and capped, so a burst of tabs cannot grow
//! the server without bound.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::sync::{oneshot, watch};

use crate::encode::json::write_escaped;
use crate::encode::sample::{self, LeafKey};
use crate::registry::{Registry, RegistryRef};
use crate::server::collect::collect;
use crate::server::pool;
use crate::vars::VarRef;

/// How often the sampler reads the registry.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// One sample, rendered once and sent as is to every client.
#[derive(Debug)]
pub(crate) struct Tick {
    /// The shape of [`event`](Self::event)'s values; clients are sent it when it changes.
    pub(crate) schema: Arc<Schema>,
    /// The `sample` Server-Sent Event, with [`id`](Self::id) as its SSE `id:`:
    /// `{"t": <ms since epoch>, "s": <schema id>, "v": [...]}`.
    pub(crate) event: Bytes,
    /// This sampler's count of samples, from 1: what the pages acknowledge.
    pub(crate) id: u64,
}

/// The paths and kinds of the values of a sample, in order.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) id: u64,
    /// The `schema` Server-Sent Event: `{"id": n, "interval_ms": n, "leaves": [[kind,
    /// [segment, ...], map key bits], ...]}`.
    pub(crate) event: Bytes,
    /// What the schema was built from, to tell whether the next sample has the same shape.
    keys: Vec<LeafKey>,
}

type Latest = watch::Receiver<Option<Arc<Tick>>>;

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
    generations: AtomicU64,
    closed: AtomicBool,
}

#[derive(Debug)]
struct Running {
    generation: u64,
    latest: watch::Sender<Option<Arc<Tick>>>,
}

/// Why a client was not subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The cap on concurrent dashboard clients is reached.
    Full,
    /// Not called inside a tokio runtime, so no sampler task can run.
    NoRuntime,
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
            generations: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Ends every subscription (their streams end) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut sampler = self.lock();
        self.closed.store(true, Ordering::Release);
        // Dropping the sender ends every receiver's wait; the task stops at its next tick.
        *sampler = None;
    }

    /// Dashboard clients connected now.
    #[cfg(test)]
    pub(crate) fn clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }

    /// Takes a client place and subscribes to the samples, starting the sampler if none
    /// runs.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Result<Subscription, Refusal> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Refusal::NoRuntime)?;
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
        let latest = match &*sampler {
            Some(running) => running.latest.subscribe(),
            None => {
                let (sender, latest) = watch::channel(None);
                let generation = self.generations.fetch_add(1, Ordering::Relaxed);
                *sampler = Some(Running {
                    generation,
                    latest: sender,
                });
                runtime.spawn(run(Arc::clone(self), generation));
                latest
            }
        };
        Ok(Subscription { latest, slot })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        // The guarded value is replaced whole, so a panic cannot leave it half-written.
        self.sampler.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a sampler's registration when its task ends, also when the task is dropped
/// with its runtime (a stopped server), so the next client starts a new sampler.
struct Registration {
    hub: Arc<Hub>,
    generation: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sampler = self.hub.lock();
        if sampler.as_ref().map(|running| running.generation) == Some(self.generation) {
            *sampler = None;
        }
    }
}

async fn run(hub: Arc<Hub>, generation: u64) {
    let registration = Registration { hub, generation };
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sampler = Some(Sampler::default());
    loop {
        ticks.tick().await;
        // Deciding to stop, and unregistering, under the lock that `subscribe` takes
        // means a client either joins this sampler before it stops or finds none and
        // starts another.
        {
            let mut sampler = registration.hub.lock();
            let Some(running) = sampler.as_ref().filter(|r| r.generation == generation) else {
                return;
            };
            if running.latest.receiver_count() == 0 {
                *sampler = None;
                return;
            }
        }
        // Sampling runs variables' code: on a pool thread, never on the async one.
        let Some(mut working) = sampler.take() else {
            return;
        };
        let deadline = registration.hub.render_deadline;
        let registry = registration.hub.registry.clone();
        let (done, sampled) = oneshot::channel();
        let started = pool::spawn(move || {
            let tick = working.sample(&registry, deadline);
            let _ = done.send((working, tick));
        });
        if started.is_err() {
            return;
        }
        let Ok((mut back, tick)) = sampled.await else {
            return;
        };
        let replaced = match &*registration.hub.lock() {
            Some(running) => running.latest.send_replace(Some(tick)),
            None => None,
        };
        back.recycle(replaced);
        sampler = Some(back);
    }
}

/// Turns registry snapshots into [`Tick`]s, reusing the schema while the shape holds.
///
/// After the first ticks a sample allocates one block (the 24-byte shared header
/// `Bytes` puts on the event) and keeps nothing: the registry snapshot, the flattening
/// buffers, the event's bytes and the `Arc` around the tick are taken back from the
/// previous tick once every client has sent it (else allocated anew). So an open
/// dashboard does not move the heap figures it charts (`tests/test_dashboard_alloc.rs`).
#[derive(Default)]
struct Sampler {
    schema: Option<Arc<Schema>>,
    next_schema_id: u64,
    samples: u64,
    vars: Vec<(Arc<str>, VarRef)>,
    buffers: sample::Buffers,
    /// The last tick sent, when no client holds it any more.
    spare: Option<Arc<Tick>>,
}

impl Sampler {
    /// Keeps a replaced tick for reuse, if nobody else holds it.
    fn recycle(&mut self, replaced: Option<Arc<Tick>>) {
        self.spare = replaced.filter(|tick| Arc::strong_count(tick) == 1);
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
        let mut spare = self.spare.take();
        let reused = spare.as_mut().and_then(Arc::get_mut);
        let mut event = reused
            .and_then(|tick| std::mem::take(&mut tick.event).try_into_mut().ok())
            .unwrap_or_default();
        event.clear();
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
        let tick = Tick {
            schema,
            event: event.freeze(),
            id: self.samples,
        };
        match spare {
            Some(mut spare) => match Arc::get_mut(&mut spare) {
                Some(slot) => {
                    *slot = tick;
                    spare
                }
                None => Arc::new(tick),
            },
            None => Arc::new(tick),
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
struct Utf8Mut<'a>(&'a mut BytesMut);

impl std::fmt::Write for Utf8Mut<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        let first = hub.subscribe().unwrap();
        let _second = hub.subscribe().unwrap();
        assert_eq!(hub.subscribe().unwrap_err(), Refusal::Full);
        drop(first);
        assert_eq!(hub.clients(), 1);
        assert!(hub.subscribe().is_ok());
    }

    #[test]
    fn closing_ends_streams_and_refuses_new_ones() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        let mut open = runtime.block_on(async { hub.subscribe().unwrap() });
        hub.close();
        let ended = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), open.latest.changed()).await
        });
        assert!(
            ended.expect("the wait ends at once").is_err(),
            "the sender is gone"
        );
        let refused = runtime.block_on(async { hub.subscribe().unwrap_err() });
        assert_eq!(refused, Refusal::Closed);
    }

    #[test]
    fn no_runtime_is_refused() {
        let hub = Arc::new(Hub::new(2, RegistryRef::default(), Duration::from_secs(1)));
        assert_eq!(hub.subscribe().unwrap_err(), Refusal::NoRuntime);
        assert_eq!(hub.clients(), 0);
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
