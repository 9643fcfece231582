//! The objectives of each registry, and the sampler that reads them.
//!
//! The global registry's objectives are the macros' declarations and what is registered
//! with it; a registry made with `Registry::new` gets its own on its first registration,
//! published in it as `objectives` and found by the registry's address. One sampler
//! thread of its own (never an async runtime's) reads every objective's counts at a
//! fixed cadence into its bounded history.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use once_cell::sync::Lazy;

use crate::objectives::burn::{Alert, History, Sample, SliStatus, Spans, State, WINDOWS};
use crate::objectives::declared::{self, ObjectiveConflict};
use crate::objectives::objective::{Objective, ObjectiveError, ObjectiveSpec, Sli};
use crate::objectives::scale::{self, time_scale, CADENCE};
use crate::objectives::spec::Target;
use crate::registry::Registry;
use crate::vars::entry::Site;

/// The variable the objectives of a registry are published under.
pub const OBJECTIVES_VAR: &str = "objectives";

/// The objectives of one registry, sorted by name; published in it as `objectives`.
pub(crate) struct ObjectiveSet {
    tracked: RwLock<Vec<Arc<Tracked>>>,
    /// Declarations left out (the global registry's only).
    pub(crate) conflicts: Vec<ObjectiveConflict>,
}

/// One objective and what the sampler learned of it.
pub(crate) struct Tracked {
    pub(crate) objective: Objective,
    /// Where it was registered (its declaration, for the macros').
    pub(crate) site: Site,
    inner: Mutex<Inner>,
}

struct Inner {
    /// One per indicator, in [`Objective::slis`] order.
    histories: Vec<History>,
    status: Arc<ObjectiveStatus>,
}

/// Where one objective stands, as of the sampler's last reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveStatus {
    /// The objective's name.
    pub name: String,
    /// Its window, before the time scale.
    pub window: Duration,
    /// Each indicator: a success rate, a latency, or both (in that order).
    pub indicators: Vec<SliStatus>,
    /// The most severe alert of its indicators.
    pub alert: Option<Alert>,
    /// The worst state of its indicators.
    pub state: State,
}

impl ObjectiveStatus {
    /// Why the objective alerts, in one line (for `/status/health`), or `None`.
    ///
    /// ```text
    /// checkout: page: success 99.9% burning 20x over 1h and 25x over 5m
    /// ```
    pub fn alert_reason(&self) -> Option<String> {
        let alert = self.alert?;
        let parts: Vec<String> = self
            .indicators
            .iter()
            .filter(|indicator| indicator.alert == Some(alert))
            .map(|indicator| {
                let (long, short) = alert.windows();
                let burn = |index: usize| {
                    indicator.windows[index]
                        .burn_rate
                        .map_or_else(|| "-".to_owned(), |burn| format!("{}", round(burn)))
                };
                format!(
                    "{} {} burning {}x over {} and {}x over {}",
                    indicator.target.kind(),
                    indicator.target,
                    burn(long),
                    WINDOWS[long].0,
                    burn(short),
                    WINDOWS[short].0,
                )
            })
            .collect();
        Some(format!(
            "{}: {}: {}",
            self.name,
            alert.as_str(),
            parts.join("; ")
        ))
    }
}

/// Three significant decimals, for messages.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

impl ObjectiveSet {
    fn new(objectives: Vec<Objective>, conflicts: Vec<ObjectiveConflict>) -> ObjectiveSet {
        let at_ms = scale::now_ms();
        let tracked = objectives
            .into_iter()
            .map(|objective| {
                let site = objective.site;
                Arc::new(Tracked::new(objective, site, at_ms))
            })
            .collect();
        ObjectiveSet {
            tracked: RwLock::new(tracked),
            conflicts,
        }
    }

    /// The objectives, sorted by name.
    pub(crate) fn tracked(&self) -> Vec<Arc<Tracked>> {
        self.tracked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add(&self, objective: Objective, site: Site) -> Result<(), ObjectiveError> {
        let mut tracked = self.tracked.write().unwrap_or_else(PoisonError::into_inner);
        let index =
            match tracked.binary_search_by(|t| t.objective.name.as_str().cmp(&objective.name)) {
                Ok(index) => {
                    return Err(ObjectiveError::Duplicate {
                        objective: objective.name,
                        existing: tracked[index].site,
                    })
                }
                Err(index) => index,
            };
        tracked.insert(
            index,
            Arc::new(Tracked::new(objective, site, scale::now_ms())),
        );
        Ok(())
    }

    /// Reads every objective's counts now.
    pub(crate) fn sample(&self, at_ms: u64) {
        for tracked in self.tracked() {
            tracked.sample(at_ms);
        }
    }
}

impl Tracked {
    fn new(objective: Objective, site: Site, at_ms: u64) -> Tracked {
        let spans = Spans::new(objective.window, CADENCE, time_scale());
        let histories: Vec<History> = objective
            .slis()
            .map(|(_, sli)| {
                let (total, bad) = read(&sli.target, sli);
                History::new(Sample { at_ms, total, bad }, spans)
            })
            .collect();
        let status = Arc::new(status_of(&objective, &histories));
        Tracked {
            objective,
            site,
            inner: Mutex::new(Inner { histories, status }),
        }
    }

    fn sample(&self, at_ms: u64) {
        // The counts are read before the lock: readers of the status never wait for them.
        let samples: Vec<Sample> = self
            .objective
            .slis()
            .map(|(_, sli)| {
                let (total, bad) = read(&sli.target, sli);
                Sample { at_ms, total, bad }
            })
            .collect();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (history, sample) in inner.histories.iter_mut().zip(samples) {
            history.push(sample);
        }
        inner.status = Arc::new(status_of(&self.objective, &inner.histories));
    }

    /// `(total, bad)` of each indicator now, in [`Objective::slis`] order.
    pub(crate) fn read_now(&self) -> Vec<(u64, u64)> {
        self.objective
            .slis()
            .map(|(_, sli)| read(&sli.target, sli))
            .collect()
    }

    /// The status as of the last sample.
    pub(crate) fn status(&self) -> Arc<ObjectiveStatus> {
        Arc::clone(
            &self
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .status,
        )
    }
}

/// `(total, bad)` of an indicator: the sum over what feeds it.
fn read(target: &Target, sli: &Sli) -> (u64, u64) {
    sli.sources.iter().fold((0, 0), |(total, bad), source| {
        let (more, worse) = source.read(target);
        (total.saturating_add(more), bad.saturating_add(worse))
    })
}

fn status_of(objective: &Objective, histories: &[History]) -> ObjectiveStatus {
    let indicators: Vec<SliStatus> = objective
        .slis()
        .zip(histories)
        .map(|((_, sli), history)| history.status(sli.target))
        .collect();
    ObjectiveStatus {
        name: objective.name.clone(),
        window: objective.window,
        alert: indicators.iter().filter_map(|status| status.alert).max(),
        state: indicators
            .iter()
            .map(|status| status.state)
            .max()
            .unwrap_or_default(),
        indicators,
    }
}

/// The global registry's objectives: the macros' declarations, grouped.
static GLOBAL: Lazy<Arc<ObjectiveSet>> = Lazy::new(|| {
    let (objectives, conflicts) = declared::grouped();
    let set = Arc::new(ObjectiveSet::new(objectives, conflicts));
    if !set.tracked().is_empty() {
        ensure_started();
    }
    set
});

/// The global registry's objectives, created on first use.
pub(crate) fn global() -> &'static ObjectiveSet {
    &GLOBAL
}

/// The objectives of registries made with `Registry::new`, by the registry's address;
/// a set lives as long as its registry holds it (as its `objectives` variable).
static LOCAL: Mutex<Vec<(usize, Weak<ObjectiveSet>)>> = Mutex::new(Vec::new());

fn address(registry: &Registry) -> usize {
    registry as *const Registry as usize
}

fn is_global(registry: &Registry) -> bool {
    std::ptr::eq(registry, Registry::global())
}

/// The objectives of `registry`, if it has any.
pub(crate) fn of(registry: &Registry) -> Option<Arc<ObjectiveSet>> {
    if is_global(registry) {
        return Some(Arc::clone(&GLOBAL));
    }
    let address = address(registry);
    LOCAL
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(at, _)| *at == address)
        .and_then(|(_, set)| set.upgrade())
}

/// Every set whose registry still holds it, the global one first.
pub(crate) fn live_sets() -> Vec<Arc<ObjectiveSet>> {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    local.retain(|(_, set)| set.strong_count() > 0);
    std::iter::once(Arc::clone(&GLOBAL))
        .chain(local.iter().filter_map(|(_, set)| set.upgrade()))
        .collect()
}

impl Objective {
    /// Registers the objective with `registry`: its `objectives` variable (published on
    /// the first registration) shows it from now on, and the objectives sampler, a
    /// thread of its own, starts reading its counts.
    ///
    /// Refused, with the reason: a target not strictly between 0 and 1, a window
    /// outside 1 s to 90 days, an indicator nothing feeds, a latency threshold that is
    /// not a bucket bound of a histogram feeding it, a name already registered, or
    /// `objectives` taken by another variable of the registry.
    #[track_caller]
    pub fn register(self, registry: &Registry) -> Result<(), ObjectiveError> {
        self.validate()?;
        register(registry, self, Site::from(Location::caller()))
    }
}

/// Adds `objective` to `registry`'s objectives, publishing them in it first if need be.
fn register(registry: &Registry, objective: Objective, site: Site) -> Result<(), ObjectiveError> {
    let set = match of(registry) {
        Some(set) => set,
        None => {
            let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
            local.retain(|(_, set)| set.strong_count() > 0);
            let set = Arc::new(ObjectiveSet::new(Vec::new(), Vec::new()));
            registry
                .publish(OBJECTIVES_VAR, Arc::clone(&set))
                .map_err(ObjectiveError::Publish)?;
            local.push((address(registry), Arc::downgrade(&set)));
            set
        }
    };
    set.add(objective, site)?;
    ensure_started();
    Ok(())
}

/// The statuses of `registry`'s objectives as of the sampler's last reading, sorted by
/// name. Reads what the sampler left: never waits for a count to be read.
///
/// ```
/// use expvar::{Counter, Objective, Registry};
///
/// static CALLS: Counter = Counter::new();
/// static FAILED: Counter = Counter::new();
///
/// let registry = Registry::new();
/// Objective::success_rate("search", 0.99)
///     .counters(&CALLS, &FAILED)
///     .register(&registry)
///     .unwrap();
/// let statuses = expvar::objectives::statuses(&registry);
/// assert_eq!(statuses[0].name, "search");
/// assert_eq!(statuses[0].state, expvar::objectives::State::Ok);
/// ```
pub fn statuses(registry: &Registry) -> Vec<ObjectiveStatus> {
    of(registry).map_or_else(Vec::new, |set| {
        set.tracked()
            .iter()
            .map(|tracked| (*tracked.status()).clone())
            .collect()
    })
}

/// What `registry`'s objectives promise, sorted by name: what the rules are made from.
pub fn specs(registry: &Registry) -> Vec<ObjectiveSpec> {
    of(registry).map_or_else(Vec::new, |set| {
        set.tracked()
            .iter()
            .map(|tracked| tracked.objective.spec())
            .collect()
    })
}

/// Declarations of the macros left out of their objective because they disagree with
/// another declaration of the same objective (its window, target or threshold). Each is
/// also printed to standard error and logged when the objectives are first used.
pub fn conflicts() -> Vec<ObjectiveConflict> {
    GLOBAL.conflicts.clone()
}

/// Samples `registry`'s objectives now, as the sampler thread does at its cadence.
#[cfg(test)]
pub(crate) fn sample_now(registry: &Registry) {
    if let Some(set) = of(registry) {
        set.sample(scale::now_ms());
    }
}

/// Starts sampling `registry`'s objectives, if it has any: the server calls this when it
/// starts, so the windows begin with it rather than at the first read.
#[cfg(feature = "server")]
pub(crate) fn start(registry: &Registry) {
    if of(registry).is_some_and(|set| !set.tracked().is_empty()) {
        ensure_started();
    }
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// Starts the sampler thread unless it runs already.
pub(crate) fn ensure_started() {
    let at_ms = scale::now_ms();
    if STARTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let cadence =
        Duration::from_millis(Spans::new(Duration::ZERO, CADENCE, time_scale()).cadence_ms);
    let started = std::thread::Builder::new()
        .name("expvar-objectives".into())
        .spawn(move || {
            let step = u64::try_from(cadence.as_millis()).unwrap_or(u64::MAX);
            let mut next = at_ms;
            loop {
                // On a fixed cadence from the start, not from the end of the last round;
                // after a stall, from now (no burst of samples to catch up).
                let now = scale::now_ms();
                next = (next + step).max(now);
                std::thread::sleep(Duration::from_millis(next.saturating_sub(now)));
                let at_ms = scale::now_ms();
                for set in live_sets() {
                    set.sample(at_ms);
                }
            }
        });
    if let Err(error) = started {
        // Objectives keep their last figures; the next registration or read tries again.
        STARTED.store(false, Ordering::Release);
        log::error!("expvar: no thread to sample objectives: {error}");
    }
}
