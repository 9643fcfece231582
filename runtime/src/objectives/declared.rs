//! Objectives declared by the macros (`#[counted(objective = "99.9%")]`, ...): one
//! link-time entry per annotated function, grouped by objective name into the global
//! registry's objectives when they are first needed.

use std::fmt;
use std::time::Duration;

use crate::objectives::objective::{Objective, Sli, Source};
use crate::objectives::spec::{format_seconds, format_window, SliKind, Target};
use crate::registry::functions::{native_durations, FunctionStats};
use crate::vars::entry::Site;

/// One function's declaration: what `objective = "..."`, `objective_name` and `window`
/// say. Emitted by the macros through `inventory::submit!`.
#[doc(hidden)]
pub struct ObjectiveEntry {
    stats: &'static FunctionStats,
    declaration: ObjectiveDeclaration,
}

/// What the macros know about an objective on a function.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ObjectiveDeclaration {
    /// `objective_name = "..."`, else the function's key.
    pub name: &'static str,
    /// The success rate promised (`0.999`), if any.
    pub success: Option<f64>,
    /// The latency promised: the share of calls (`0.99`) and the threshold in seconds.
    pub latency: Option<(f64, f64)>,
    /// `window = "7d"`, in seconds (30 days by default).
    pub window_seconds: u64,
    /// Where the function is defined.
    pub site: Site,
}

impl ObjectiveEntry {
    /// The objective declared on the function whose statistics are `stats`.
    pub const fn new(stats: &'static FunctionStats, declaration: ObjectiveDeclaration) -> Self {
        ObjectiveEntry { stats, declaration }
    }
}

inventory::collect!(ObjectiveEntry);

/// A declaration left out of its objective: it disagrees with the first declaration of
/// the same objective, or its latency threshold is not a bucket bound of its function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveConflict {
    /// The objective's name.
    pub objective: &'static str,
    /// The declaration left out.
    pub ignored: Site,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ObjectiveConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expvar objective {:?}: the declaration at {} is left out: {}",
            self.objective, self.ignored, self.reason
        )
    }
}

/// The declared objectives, grouped by name (sorted), and the declarations left out.
pub(crate) fn grouped() -> (Vec<Objective>, Vec<ObjectiveConflict>) {
    let mut entries: Vec<&ObjectiveEntry> = inventory::iter::<ObjectiveEntry>.into_iter().collect();
    entries.sort_by_key(|entry| (entry.declaration.name, entry.declaration.site));
    let mut objectives: Vec<Objective> = Vec::new();
    let mut conflicts = Vec::new();
    let mut first: Option<ObjectiveDeclaration> = None;
    for entry in entries {
        let declaration = entry.declaration;
        let joins = objectives
            .last()
            .is_some_and(|objective| objective.name == declaration.name);
        let problem = match (joins, first) {
            (true, Some(kept)) => disagreement(&kept, &declaration),
            _ => None,
        }
        .or_else(|| not_a_bound(&declaration, entry.stats));
        if let Some(reason) = problem {
            conflicts.push(ObjectiveConflict {
                objective: declaration.name,
                ignored: declaration.site,
                reason,
            });
            continue;
        }
        if !joins {
            let mut objective = Objective::new(declaration.name);
            objective.site = declaration.site;
            objective.window = Duration::from_secs(declaration.window_seconds);
            first = Some(declaration);
            objectives.push(objective);
        }
        let objective = objectives.last_mut().expect("pushed above");
        add(objective, &declaration, entry.stats);
    }
    for conflict in &conflicts {
        // A build mistake, as two variables of one name are: say so loudly, once.
        eprintln!("{conflict}");
        log::error!("{conflict}");
    }
    (objectives, conflicts)
}

/// Why a latency threshold cannot be counted exactly, if it cannot. The macros check
/// this at compile time; a declaration inherited by a method with buckets of its own
/// is checked here.
fn not_a_bound(declaration: &ObjectiveDeclaration, stats: &FunctionStats) -> Option<String> {
    let (_, threshold) = declaration.latency?;
    let durations = stats.duration();
    if durations.native_options().is_some() || native_durations() {
        // Native durations count any threshold (see `Objective::latency`).
        return None;
    }
    let buckets = durations.buckets();
    (!buckets.contains(&threshold)).then(|| {
        format!(
            "its latency threshold {} is not a bucket bound of the function",
            format_seconds(threshold)
        )
    })
}

/// Adds what `declaration` promises, fed by `stats`, to `objective`.
fn add(
    objective: &mut Objective,
    declaration: &ObjectiveDeclaration,
    stats: &'static FunctionStats,
) {
    let targets = [
        (
            SliKind::Success,
            declaration.success.map(|target| (target, None)),
        ),
        (
            SliKind::Latency,
            declaration
                .latency
                .map(|(target, threshold)| (target, Some(threshold))),
        ),
    ];
    for (kind, target) in targets {
        let Some((target, threshold_seconds)) = target else {
            continue;
        };
        let slot = match kind {
            SliKind::Success => &mut objective.success,
            SliKind::Latency => &mut objective.latency,
        };
        slot.get_or_insert_with(|| Sli {
            target: Target {
                target,
                threshold_seconds,
            },
            sources: Vec::new(),
        })
        .sources
        .push(Source::Function(stats));
    }
}

/// Why `declaration` cannot join the objective that `kept` started, if it cannot.
fn disagreement(kept: &ObjectiveDeclaration, declaration: &ObjectiveDeclaration) -> Option<String> {
    let window = |declaration: &ObjectiveDeclaration| {
        format_window(Duration::from_secs(declaration.window_seconds))
    };
    let success = |target: f64| Target {
        target,
        threshold_seconds: None,
    };
    let latency = |(target, threshold): (f64, f64)| Target {
        target,
        threshold_seconds: Some(threshold),
    };
    let differs = if declaration.window_seconds != kept.window_seconds {
        Some(format!(
            "window {} where the one at {} says {}",
            window(declaration),
            kept.site,
            window(kept)
        ))
    } else if let (Some(theirs), Some(ours)) = (kept.success, declaration.success) {
        (theirs != ours).then(|| {
            format!(
                "success rate {} where the one at {} says {}",
                success(ours),
                kept.site,
                success(theirs)
            )
        })
    } else {
        None
    };
    differs.or_else(|| match (kept.latency, declaration.latency) {
        (Some(theirs), Some(ours)) if theirs != ours => Some(format!(
            "latency {} where the one at {} says {}",
            latency(ours),
            kept.site,
            latency(theirs)
        )),
        _ => None,
    })
}
