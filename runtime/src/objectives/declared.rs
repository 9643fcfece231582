//! Objectives declared by the macros (`#[counted(objective = "99.9%")]`, ...): one
//! link-time entry per annotated function, grouped by objective name into the global
//! registry's objectives when they are first needed.

use std::fmt;

use crate::objectives::objective::{Objective, Sli, Source};
use crate::objectives::spec::{format_window, SliKind, Target};
use crate::registry::functions::FunctionStats;
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

/// A declaration left out of its objective because it disagrees with the one kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveConflict {
    /// The objective's name.
    pub objective: &'static str,
    /// The declaration kept (the first by source location).
    pub kept: Site,
    /// The declaration left out.
    pub ignored: Site,
    /// What they disagree on.
    pub reason: String,
}

impl fmt::Display for ObjectiveConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expvar objective {:?} is declared differently at {} and at {} ({}); \
             the function at {} is left out of it",
            self.objective, self.kept, self.ignored, self.reason, self.ignored
        )
    }
}

/// The declared objectives, grouped by name (sorted), and the declarations that
/// disagree with the first of their group.
pub(crate) fn grouped() -> (Vec<Objective>, Vec<ObjectiveConflict>) {
    let mut entries: Vec<&ObjectiveEntry> = inventory::iter::<ObjectiveEntry>.into_iter().collect();
    entries.sort_by_key(|entry| (entry.declaration.name, entry.declaration.site));
    let mut objectives: Vec<Objective> = Vec::new();
    let mut conflicts = Vec::new();
    let mut first: Option<ObjectiveDeclaration> = None;
    for entry in entries {
        let declaration = entry.declaration;
        match objectives.last_mut() {
            Some(objective) if objective.name == declaration.name => {
                let kept = first.expect("a group starts with its first declaration");
                if let Some(reason) = disagreement(&kept, &declaration, objective) {
                    conflicts.push(ObjectiveConflict {
                        objective: declaration.name,
                        kept: kept.site,
                        ignored: declaration.site,
                        reason,
                    });
                    continue;
                }
                add(objective, &declaration, entry.stats);
            }
            _ => {
                let mut objective = Objective::new(declaration.name);
                objective.site = declaration.site;
                objective.window = std::time::Duration::from_secs(declaration.window_seconds);
                add(&mut objective, &declaration, entry.stats);
                first = Some(declaration);
                objectives.push(objective);
            }
        }
    }
    for conflict in &conflicts {
        // A build mistake, as two variables of one name are: say so loudly, once.
        eprintln!("{conflict}");
        log::error!("{conflict}");
    }
    (objectives, conflicts)
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
fn disagreement(
    kept: &ObjectiveDeclaration,
    declaration: &ObjectiveDeclaration,
    objective: &Objective,
) -> Option<String> {
    if declaration.window_seconds != kept.window_seconds {
        return Some(format!(
            "window {} and {}",
            format_window(objective.window),
            format_window(std::time::Duration::from_secs(declaration.window_seconds))
        ));
    }
    if let (Some(sli), Some(target)) = (&objective.success, declaration.success) {
        if sli.target.target != target {
            return Some(format!(
                "success rate {} and {}",
                sli.target,
                Target {
                    target,
                    threshold_seconds: None
                }
            ));
        }
    }
    if let (Some(sli), Some((target, threshold))) = (&objective.latency, declaration.latency) {
        let other = Target {
            target,
            threshold_seconds: Some(threshold),
        };
        if sli.target != other {
            return Some(format!("latency {} and {other}", sli.target));
        }
    }
    None
}
