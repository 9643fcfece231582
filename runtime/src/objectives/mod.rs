//! Service level objectives: declared on the code they measure, their burn computed in
//! the process, their alerts generated for Prometheus.
//!
//! An objective promises that a share of calls succeed (`99.9%`) or finish within a
//! threshold (`99% < 250ms`) over a window (30 days unless told otherwise). Declare it
//! with the macros (`#[counted(objective = "99.9%")]`, `#[timed(objective = "99% <
//! 250ms")]`) or with [`Objective`]. From the counts `#[counted]` and `#[timed]` already
//! keep, a sampler thread computes for each objective:
//!
//! - the **error ratio** over 5 m, 30 m, 1 h and 6 h: bad events over all events in the
//!   window;
//! - the **burn rate**: that ratio over the error budget `1 - target` (1 spends the budget
//!   exactly over the window, 14.4 spends 2% of a 30-day budget in an hour);
//! - the **budget remaining** over the window (counted since the first sample until a
//!   whole window has passed);
//! - the **alerts** of the SRE workbook: *page* when the burn rate exceeds 14.4 over
//!   both 1 h and 5 m, *ticket* when it exceeds 6 over both 6 h and 30 m; and the
//!   **state**: `breach` (page, or the budget spent), `warning` (ticket) or `ok`.
//!
//! They show in `/debug/vars` (`objectives`), at `/metrics` (`expvar_objective_*`), on
//! the dashboard, and in `/status/health`; [`rules_yaml`] (served at
//! `/debug/objectives/rules.yml`, printed by `expvar rules`) gives Prometheus the same
//! arithmetic for the whole fleet.

mod burn;
// `pub(crate)`: `__private` re-exports its entry types for the macros.
pub(crate) mod declared;
mod objective;
mod rules;
mod scale;
mod set;
mod spec;
mod var;

pub use burn::{Alert, SliStatus, State, WindowStatus, PAGE_BURN_RATE, TICKET_BURN_RATE, WINDOWS};
pub use declared::ObjectiveConflict;
pub use objective::{Objective, ObjectiveError, ObjectiveSpec, Shared};
pub use rules::{error_ratio_rule, rules_yaml, PAGE_FOR, TICKET_FOR};
pub use scale::{time_scale, TIME_SCALE_VAR};
pub use set::{conflicts, specs, statuses, ObjectiveStatus, OBJECTIVES_VAR};
pub use spec::{
    format_window, parse_duration, parse_window, SliKind, SpecError, Target, DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) use set::sample_now;
#[cfg(feature = "server")]
pub(crate) use set::start;
