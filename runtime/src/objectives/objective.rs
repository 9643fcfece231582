//! [`Objective`]: an objective declared without the macros, fed by counters, a
//! histogram or an instrumented function, and registered with a [`Registry`].

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::objectives::spec::{
    budget_of, format_percent, format_seconds, SliKind, Target, DEFAULT_WINDOW, MAX_WINDOW_DAYS,
};
use crate::registry::functions::{function_stats, native_durations, FunctionStats};
use crate::registry::PublishError;
use crate::vars::counter::Counter;
use crate::vars::entry::Site;
use crate::vars::histogram::Histogram;

/// A service level objective: the share of calls that must succeed, or finish within a
/// threshold, over a window (30 days unless told otherwise).
///
/// The macros declare one on the function they count
/// (`#[counted(objective = "99.9%")]`, `#[timed(objective = "99% < 250ms")]`); this
/// type declares one in code, fed by the variables you already keep: a pair of
/// [`Counter`]s (all calls, failed calls) for a success rate, a [`Histogram`] of
/// durations in seconds for latency, or an instrumented function by its key. Once
/// [registered](Objective::register), the registry's `objectives` variable shows its
/// error ratios, burn rates and budget, `/metrics` its `expvar_objective_*` series, and
/// the server's health and rules endpoints take it into account. Nothing is added to
/// the path that counts: the objective reads the counts at a fixed cadence.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use expvar::{Counter, Histogram, Objective, Registry};
///
/// static REQUESTS: Counter = Counter::new();
/// static FAILURES: Counter = Counter::new();
/// static LATENCY: Histogram = Histogram::new();
///
/// let registry = Registry::new();
/// Objective::success_rate("checkout", 0.999)
///     .counters(&REQUESTS, &FAILURES)
///     .latency(Duration::from_millis(250), 0.99)
///     .histogram(&LATENCY)
///     .window(Duration::from_secs(7 * 86_400))
///     .register(&registry)
///     .unwrap();
///
/// REQUESTS.add(1000);
/// FAILURES.add(2);
/// assert!(registry.to_json().contains("\"checkout\": {\"window\": \"7d\""));
/// ```
#[derive(Clone)]
pub struct Objective {
    pub(crate) name: String,
    pub(crate) window: Duration,
    pub(crate) success: Option<Sli>,
    pub(crate) latency: Option<Sli>,
    pub(crate) site: Site,
}

/// One indicator of an objective: its target and what feeds it.
#[derive(Clone)]
pub(crate) struct Sli {
    pub(crate) target: Target,
    pub(crate) sources: Vec<Source>,
}

/// Something that counts the events of an indicator.
#[derive(Clone)]
pub(crate) enum Source {
    /// An instrumented function: its finished calls and errors, its durations.
    Function(&'static FunctionStats),
    /// All events and bad ones.
    Counters {
        total: Shared<Counter>,
        failed: Shared<Counter>,
    },
    /// Durations in seconds.
    Histogram(Shared<Histogram>),
}

impl Source {
    /// `(total, bad)` counted so far for an indicator of `kind` with `target`.
    pub(crate) fn read(&self, target: &Target) -> (u64, u64) {
        match (self, target.threshold_seconds) {
            (Source::Function(stats), None) => {
                // Errors first: a call counts as an error before it counts as finished.
                let errors = stats.errors();
                let finished = stats.finished();
                (finished, errors.min(finished))
            }
            (Source::Counters { total, failed }, None) => {
                let failed = failed.get();
                let total = total.get();
                (total, failed.min(total))
            }
            (Source::Function(stats), Some(threshold)) => slow(stats.duration(), threshold),
            (Source::Histogram(histogram), Some(threshold)) => slow(histogram, threshold),
            // Refused by `Objective::validate`.
            (Source::Counters { .. }, Some(_)) | (Source::Histogram(_), None) => (0, 0),
        }
    }
}

/// All durations and those above `threshold`.
fn slow(histogram: &Histogram, threshold: f64) -> (u64, u64) {
    let (fast, total) = histogram.count_at_most(threshold);
    (total, total - fast)
}

/// A `&'static` variable or an `Arc` of one: what feeds an [`Objective`].
pub enum Shared<T: 'static> {
    /// A `static`.
    Static(&'static T),
    /// An instance created at run time.
    Arc(Arc<T>),
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        match self {
            Shared::Static(value) => Shared::Static(value),
            Shared::Arc(value) => Shared::Arc(Arc::clone(value)),
        }
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Shared::Static(value) => value,
            Shared::Arc(value) => value,
        }
    }
}

impl<T> From<&'static T> for Shared<T> {
    fn from(value: &'static T) -> Self {
        Shared::Static(value)
    }
}

impl<T> From<Arc<T>> for Shared<T> {
    fn from(value: Arc<T>) -> Self {
        Shared::Arc(value)
    }
}

impl Objective {
    /// An objective named `name` with no indicator yet: add one with
    /// [`latency`](Self::latency), or start from [`success_rate`](Self::success_rate).
    #[track_caller]
    pub fn new(name: impl Into<String>) -> Objective {
        Objective {
            name: name.into(),
            window: DEFAULT_WINDOW,
            success: None,
            latency: None,
            site: Site::from(Location::caller()),
        }
    }

    /// An objective that `target` (such as `0.999`) of the calls succeed. Feed it with
    /// [`counters`](Self::counters) or [`function`](Self::function).
    #[track_caller]
    pub fn success_rate(name: impl Into<String>, target: f64) -> Objective {
        let mut objective = Objective::new(name);
        objective.success = Some(Sli {
            target: Target {
                target,
                threshold_seconds: None,
            },
            sources: Vec::new(),
        });
        objective
    }

    /// Adds the promise that `target` (such as `0.99`) of the calls finish within
    /// `threshold`. Feed it with [`histogram`](Self::histogram) or
    /// [`function`](Self::function). The threshold must be one of the histogram's
    /// bucket bounds ([`Histogram::buckets`]), so the count is exact and the same as
    /// Prometheus's `le` bucket, unless the histogram is native
    /// ([`Histogram::native`], `#[timed(native)]`): then any threshold works, and calls
    /// are counted within the largest bound of the fine buckets every histogram keeps
    /// (16 per power of two) at or below it, so a call up to about 4.3% under the
    /// threshold may count as slow, never a slow one as fast.
    pub fn latency(mut self, threshold: Duration, target: f64) -> Objective {
        // Histograms given before the target stay.
        let sources = self
            .latency
            .take()
            .map(|sli| sli.sources)
            .unwrap_or_default();
        self.latency = Some(Sli {
            target: Target {
                target,
                threshold_seconds: Some(threshold.as_secs_f64()),
            },
            sources,
        });
        self
    }

    /// The window the error budget is counted over: 30 days by default, at most 90.
    pub fn window(mut self, window: Duration) -> Objective {
        self.window = window;
        self
    }

    /// Feeds the success rate with a count of all calls and a count of the failed ones.
    /// Several pairs add up (an objective over several operations).
    pub fn counters(
        mut self,
        total: impl Into<Shared<Counter>>,
        failed: impl Into<Shared<Counter>>,
    ) -> Objective {
        let source = Source::Counters {
            total: total.into(),
            failed: failed.into(),
        };
        self.success
            .get_or_insert_with(unfed_success)
            .sources
            .push(source);
        self
    }

    /// Feeds the latency objective with a histogram of durations in seconds. Several
    /// histograms add up.
    pub fn histogram(mut self, histogram: impl Into<Shared<Histogram>>) -> Objective {
        self.latency
            .get_or_insert_with(unfed_latency)
            .sources
            .push(Source::Histogram(histogram.into()));
        self
    }

    /// Feeds every indicator of the objective with the instrumented function `key` (see
    /// [`FunctionInfo::key`](crate::functions::FunctionInfo::key)): its finished calls
    /// and errors, its durations (`#[timed]`). The function must exist when the
    /// objective is registered.
    pub fn function(self, key: &str) -> Result<Objective, ObjectiveError> {
        let stats = function_stats(key).ok_or_else(|| ObjectiveError::UnknownFunction {
            objective: self.name.clone(),
            key: key.to_owned(),
        })?;
        Ok(self.function_stats(stats))
    }

    /// Feeds every indicator with `stats` (what [`function`](Self::function) looks up).
    pub(crate) fn function_stats(mut self, stats: &'static FunctionStats) -> Objective {
        for sli in [&mut self.success, &mut self.latency].into_iter().flatten() {
            sli.sources.push(Source::Function(stats));
        }
        self
    }

    /// The objective's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the objective promises: its window and targets.
    pub fn spec(&self) -> ObjectiveSpec {
        ObjectiveSpec {
            name: self.name.clone(),
            window: self.window,
            targets: self.slis().map(|(_, sli)| sli.target).collect(),
        }
    }

    /// The indicators, success first.
    pub(crate) fn slis(&self) -> impl Iterator<Item = (SliKind, &Sli)> {
        [
            (SliKind::Success, self.success.as_ref()),
            (SliKind::Latency, self.latency.as_ref()),
        ]
        .into_iter()
        .filter_map(|(kind, sli)| sli.map(|sli| (kind, sli)))
    }

    pub(crate) fn validate(&self) -> Result<(), ObjectiveError> {
        let invalid = |reason: String| ObjectiveError::Invalid {
            objective: self.name.clone(),
            reason,
        };
        if self.name.is_empty() {
            return Err(invalid("the name is empty".into()));
        }
        if self.success.is_none() && self.latency.is_none() {
            return Err(invalid(
                "it has no indicator: start from `Objective::success_rate` or add `.latency(..)`"
                    .into(),
            ));
        }
        if self.window.is_zero() || self.window > Duration::from_secs(MAX_WINDOW_DAYS * 86_400) {
            return Err(invalid(format!(
                "its window must be more than 0 and at most {MAX_WINDOW_DAYS} days, not {:?}",
                self.window
            )));
        }
        for (kind, sli) in self.slis() {
            let target = sli.target.target;
            if target.is_nan() {
                let how = match kind {
                    SliKind::Success => "start from `Objective::success_rate(name, target)`",
                    SliKind::Latency => "add `.latency(threshold, target)`",
                };
                return Err(invalid(format!(
                    "its {kind} indicator has no target: {how}"
                )));
            }
            if !(target > 0.0 && target < 1.0) || budget_of(target) <= 0.0 {
                return Err(invalid(format!(
                    "the {kind} target must be more than 0 and less than 1 (0.999 for 99.9%), not {target}"
                )));
            }
            if sli.sources.is_empty() {
                let feed = match kind {
                    SliKind::Success => "`.counters(total, failed)` or `.function(key)`",
                    SliKind::Latency => "`.histogram(durations)` or `.function(key)`",
                };
                return Err(invalid(format!(
                    "nothing feeds its {kind} indicator: add {feed}"
                )));
            }
            let Some(threshold) = sli.target.threshold_seconds else {
                continue;
            };
            if !(threshold > 0.0 && threshold.is_finite()) {
                return Err(invalid(format!(
                    "the latency threshold must be more than 0, not {threshold} s"
                )));
            }
            for source in &sli.sources {
                let histogram = match source {
                    Source::Function(stats) => stats.duration(),
                    Source::Histogram(histogram) => histogram,
                    Source::Counters { .. } => continue,
                };
                let native = histogram.native_options().is_some()
                    || (matches!(source, Source::Function(_)) && native_durations());
                if !native && !histogram.buckets().contains(&threshold) {
                    return Err(ObjectiveError::NotABucketBound {
                        objective: self.name.clone(),
                        threshold: format_seconds(threshold),
                        buckets: histogram.buckets().to_vec(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn unfed_success() -> Sli {
    // A success rate fed before its target is set: `validate` asks for a target.
    Sli {
        target: Target {
            target: f64::NAN,
            threshold_seconds: None,
        },
        sources: Vec::new(),
    }
}

fn unfed_latency() -> Sli {
    Sli {
        target: Target {
            target: f64::NAN,
            threshold_seconds: Some(f64::NAN),
        },
        sources: Vec::new(),
    }
}

impl fmt::Debug for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Objective")
            .field("name", &self.name)
            .field("window", &self.window)
            .field(
                "targets",
                &self.slis().map(|(_, sli)| sli.target).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What an objective promises, without what feeds it: what the generated rules are made
/// from ([`rules_yaml`](super::rules_yaml)).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveSpec {
    /// The `objective` label.
    pub name: String,
    /// The window the error budget is counted over.
    pub window: Duration,
    /// One target per indicator: a success rate, a latency, or both.
    pub targets: Vec<Target>,
}

impl fmt::Display for ObjectiveSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.name)?;
        for (index, target) in self.targets.iter().enumerate() {
            let separator = if index == 0 { " " } else { ", " };
            write!(f, "{separator}{} {target}", target.kind())?;
        }
        write!(f, " over {}", super::spec::format_window(self.window))
    }
}

/// Why [`Objective::register`] or [`Objective::function`] refused an objective.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ObjectiveError {
    /// The objective as built cannot be measured.
    Invalid {
        /// The objective's name.
        objective: String,
        /// What is wrong.
        reason: String,
    },
    /// The latency threshold is not a bucket bound of a histogram that feeds it.
    NotABucketBound {
        /// The objective's name.
        objective: String,
        /// The threshold, as in `250ms`.
        threshold: String,
        /// The histogram's bounds, in seconds.
        buckets: Vec<f64>,
    },
    /// No instrumented function has this key.
    UnknownFunction {
        /// The objective's name.
        objective: String,
        /// The key asked for.
        key: String,
    },
    /// An objective of this name is registered already.
    Duplicate {
        /// The objective's name.
        objective: String,
        /// Where the registered one was registered.
        existing: Site,
    },
    /// `objectives` is taken in the registry by a variable that is not its objectives.
    Publish(PublishError),
}

impl fmt::Display for ObjectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectiveError::Invalid { objective, reason } => {
                write!(f, "objective {objective:?} refused: {reason}")
            }
            ObjectiveError::NotABucketBound {
                objective,
                threshold,
                buckets,
            } => {
                let bounds: Vec<String> = buckets.iter().map(|b| format_seconds(*b)).collect();
                write!(
                    f,
                    "objective {objective:?} refused: its latency threshold {threshold} is not a \
                     bucket bound of the histogram that feeds it ({}); use one of them, or \
                     give the histogram a bound at {threshold}",
                    bounds.join(", ")
                )
            }
            ObjectiveError::UnknownFunction { objective, key } => write!(
                f,
                "objective {objective:?} refused: no instrumented function has the key {key:?}"
            ),
            ObjectiveError::Duplicate {
                objective,
                existing,
            } => write!(
                f,
                "objective {objective:?} is already registered (at {existing})"
            ),
            ObjectiveError::Publish(_) => {
                f.write_str("the registry's `objectives` name is taken by another variable")
            }
        }
    }
}

impl std::error::Error for ObjectiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ObjectiveError::Publish(error) => Some(error),
            _ => None,
        }
    }
}

/// `99.9%` for messages.
pub(crate) fn percent(target: f64) -> String {
    format!("{}%", format_percent(target))
}
