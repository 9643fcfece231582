//! The pushers' own variables: `expvar_push`, in the registry they push, one entry per
//! protocol, so `/debug/vars`, `/metrics`, the dashboard and the pushes themselves show
//! how pushing goes.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::registry::{Registry, RegistryRef};
use crate::vars::{Unit, Var, Writer};

/// The variable's name in the registry.
pub(crate) const VAR_NAME: &str = "expvar_push";

/// One protocol's figures in one registry, added up over its pushers.
#[derive(Debug, Default)]
pub(crate) struct ProtocolStats {
    samples: AtomicU64,
    failures: AtomicU64,
    dropped: AtomicU64,
    queue_samples: AtomicI64,
    last_success_millis: AtomicU64,
}

impl ProtocolStats {
    /// `samples` delivered now.
    pub(crate) fn delivered(&self, samples: usize) {
        self.samples.fetch_add(samples as u64, Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        self.last_success_millis.fetch_max(now, Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn dropped(&self, samples: usize) {
        self.dropped.fetch_add(samples as u64, Relaxed);
    }

    /// The queue of one pusher grew (or shrank) by `samples`.
    pub(crate) fn queued(&self, samples: i64) {
        self.queue_samples.fetch_add(samples, Relaxed);
    }

    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields
                .field("samples")
                .help("Samples (data points) the receiver took.")
                .counter(self.samples.load(Relaxed));
            fields
                .field("failures")
                .help("Pushes that failed: no reply in time, a 5xx or 429, or a 4xx refusal.")
                .counter(self.failures.load(Relaxed));
            fields
                .field("dropped")
                .help("Samples lost: refused by the receiver, or dropped from a full queue.")
                .counter(self.dropped.load(Relaxed));
            fields
                .field("queue_samples")
                .help("Samples encoded and waiting to be sent.")
                .gauge(self.queue_samples.load(Relaxed).max(0));
            fields
                .field("last_success_timestamp_seconds")
                .help("When the receiver last took a push, in seconds since the Unix epoch (0: never).")
                .unit(Unit::Seconds)
                .float(self.last_success_millis.load(Relaxed) as f64 / 1000.0);
        });
    }
}

/// `expvar_push`: the figures of each protocol pushing this registry.
#[derive(Debug, Default)]
struct PushVar {
    protocols: Mutex<Vec<(&'static str, Arc<ProtocolStats>)>>,
}

impl Var for PushVar {
    fn write(&self, out: Writer<'_>) {
        let protocols = self
            .protocols
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        out.map("protocol", |entries| {
            for (protocol, stats) in protocols.iter() {
                stats.write(entries.entry(protocol));
            }
        });
    }

    fn __may_block(&self) -> bool {
        false
    }
}

/// The variable of each registry that has pushers, by the registry's address. The
/// registry owns the variable: once it is gone (or the variable is unpublished), the
/// entry is dead and a later pusher publishes afresh.
static PUBLISHED: Mutex<Vec<(usize, Weak<PushVar>)>> = Mutex::new(Vec::new());

/// The figures of `protocol` in `registry`, published as `expvar_push` there unless
/// they are already.
pub(crate) fn stats_for(registry: &RegistryRef, protocol: &'static str) -> Arc<ProtocolStats> {
    let address = &**registry as *const Registry as usize;
    let mut published = PUBLISHED.lock().unwrap_or_else(PoisonError::into_inner);
    published.retain(|(_, var)| var.strong_count() > 0);
    let var = match published
        .iter()
        .find(|(at, _)| *at == address)
        .and_then(|(_, var)| var.upgrade())
    {
        Some(var) => var,
        None => {
            let var = Arc::new(PushVar::default());
            match registry.publish(VAR_NAME, Arc::clone(&var)) {
                Ok(()) => published.push((address, Arc::downgrade(&var))),
                Err(error) => {
                    log::warn!("expvar: the pusher's own variables are not published: {error}")
                }
            }
            var
        }
    };
    drop(published);
    let mut protocols = var.protocols.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, stats)) = protocols.iter().find(|(name, _)| *name == protocol) {
        return Arc::clone(stats);
    }
    let stats = Arc::new(ProtocolStats::default());
    protocols.push((protocol, Arc::clone(&stats)));
    protocols.sort_by_key(|(name, _)| *name);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushers_of_one_protocol_share_an_entry() {
        let registry = RegistryRef::from(Arc::new(Registry::new()));
        let first = stats_for(&registry, "remote_write");
        let second = stats_for(&registry, "remote_write");
        let otlp = stats_for(&registry, "otlp");
        first.delivered(10);
        second.delivered(5);
        first.queued(7);
        second.queued(3);
        first.queued(-7);
        otlp.failed();
        otlp.dropped(4);
        let text = registry.to_prometheus();
        for line in [
            "expvar_push_samples_total{protocol=\"otlp\"} 0\n",
            "expvar_push_samples_total{protocol=\"remote_write\"} 15\n",
            "expvar_push_failures_total{protocol=\"otlp\"} 1\n",
            "expvar_push_dropped_total{protocol=\"otlp\"} 4\n",
            "expvar_push_queue_samples{protocol=\"remote_write\"} 3\n",
            "expvar_push_last_success_timestamp_seconds{protocol=\"otlp\"} 0.0\n",
        ] {
            assert!(text.contains(line), "{line}in\n{text}");
        }
        let json = registry.to_json();
        assert!(
            json.contains("\"remote_write\": {\"samples\": 15, \"failures\": 0"),
            "{json}"
        );
    }

    #[test]
    fn a_name_taken_by_the_user_leaves_the_figures_unpublished() {
        let registry = RegistryRef::from(Arc::new(Registry::new()));
        registry
            .publish(VAR_NAME, Arc::new(crate::Counter::new()))
            .unwrap();
        let stats = stats_for(&registry, "otlp");
        stats.delivered(1);
        assert!(registry.to_prometheus().contains("expvar_push_total 0\n"));
    }
}
