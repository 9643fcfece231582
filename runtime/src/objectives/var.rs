//! The `objectives` variable: each objective's promise and where it stands, written
//! once for every view. In JSON one object per objective; at `/metrics` the
//! `expvar_objective_*` series, labelled by `objective`, `sli` and `window`, named by
//! the variable itself like any other.

use crate::objectives::burn::{SliStatus, WindowStatus, WINDOWS};
use crate::objectives::set::{self, ObjectiveSet, OBJECTIVES_VAR};
use crate::objectives::spec::format_window;
use crate::vars::entry::Entry;
use crate::vars::{ObjectWriter, Unit, Var, Writer};

impl Var for ObjectiveSet {
    fn write(&self, out: Writer<'_>) {
        // A process that reads its objectives but serves nothing still samples them.
        let tracked = self.tracked();
        if !tracked.is_empty() {
            set::ensure_started();
        }
        out.map("objective", |objectives| {
            for tracked in &tracked {
                let status = tracked.status();
                // The counts as of now, as every counter is read at a scrape; the
                // windows as of the sampler's last reading.
                let counts = tracked.read_now();
                let window = tracked.objective.window;
                objectives.entry(&status.name).object(|fields| {
                    fields.field("window").json_only().str(&format_window(window));
                    fields
                        .field("window_seconds")
                        .metric_name("expvar_objective_window")
                        .unit(Unit::Seconds)
                        .help("The window each objective's error budget is counted over.")
                        .gauge(i64::try_from(window.as_secs()).unwrap_or(i64::MAX));
                    fields.field("state").json_only().str(status.state.as_str());
                    fields
                        .field("state_level")
                        .metrics_only()
                        .metric_name("expvar_objective_state")
                        .help("Where each objective stands: 0 ok, 1 warning (ticket alert), 2 breach (page alert or budget spent).")
                        .gauge(status.state.level());
                    match status.alert {
                        Some(alert) => fields.field("alert").json_only().str(alert.as_str()),
                        None => fields.field("alert").json_only().null(),
                    }
                    fields.field("slis").map("sli", |slis| {
                        for (indicator, &counts) in status.indicators.iter().zip(&counts) {
                            slis.entry(indicator.target.kind().as_str())
                                .object(|fields| write_indicator(fields, indicator, counts));
                        }
                    });
                });
            }
        });
    }

    // Copies of figures the sampler computed, under a short lock; no user code.
    fn __may_block(&self) -> bool {
        false
    }
}

fn write_indicator(fields: &mut ObjectWriter<'_>, indicator: &SliStatus, counts: (u64, u64)) {
    let (total, bad) = counts;
    let target = &indicator.target;
    fields
        .field("target")
        .metric_name("expvar_objective_target")
        .unit(Unit::Ratio)
        .help("The share of good events each objective promises.")
        .float(target.target);
    if let Some(threshold) = target.threshold_seconds {
        fields
            .field("threshold")
            .metric_name("expvar_objective_latency_threshold")
            .unit(Unit::Seconds)
            .help("The duration a call must stay within to count as good, for latency objectives.")
            .float(threshold);
    }
    fields
        .field("total")
        .metric_name("expvar_objective_requests")
        .help("Events each objective counts: finished calls (success), timed calls (latency).")
        .counter(total);
    fields
        .field("errors")
        .metric_name("expvar_objective_errors")
        .help("Bad events each objective counts: failed calls (success), calls over the threshold (latency).")
        .counter(bad);
    per_window(
        fields.field("error_ratio"),
        indicator,
        |window| window.error_ratio,
        |entry| {
            entry
                .metric_name("expvar_objective_error")
                .unit(Unit::Ratio)
                .help("Bad events over all events in each window, as the process computes it.")
        },
    );
    per_window(
        fields.field("burn_rate"),
        indicator,
        |window| window.burn_rate,
        |entry| {
            entry
                .metric_name("expvar_objective_burn_rate")
                .help("The error ratio over the error budget (1 - target) in each window: 1 spends the budget exactly over the objective's window.")
        },
    );
    let since_start: Vec<&str> = WINDOWS
        .iter()
        .zip(&indicator.windows)
        .filter(|(_, window)| window.since_start)
        .map(|((name, _), _)| *name)
        .collect();
    fields
        .field("windows_since_start")
        .json_only()
        .json(&serde_json::json!(since_start));
    fields
        .field("budget_remaining")
        .metric_name("expvar_objective_budget_remaining")
        .unit(Unit::Ratio)
        .help("The share of the error budget of each objective's window left unspent (negative when overspent).")
        .float(indicator.budget_remaining);
    fields
        .field("budget_since_start")
        .json_only()
        .bool(indicator.budget_since_start);
    match indicator.alert {
        Some(alert) => fields.field("alert").json_only().str(alert.as_str()),
        None => fields.field("alert").json_only().null(),
    }
    fields
        .field("state")
        .json_only()
        .str(indicator.state.as_str());
}

/// One value per short window, labelled `window` at `/metrics`, `null` without events.
fn per_window(
    out: Writer<'_>,
    indicator: &SliStatus,
    value: impl Fn(&WindowStatus) -> Option<f64>,
    describe: impl for<'w> Fn(Writer<'w>) -> Writer<'w>,
) {
    out.map("window", |windows| {
        for ((name, _), window) in WINDOWS.iter().zip(&indicator.windows) {
            let entry = describe(windows.entry(name));
            match value(window) {
                Some(value) => entry.float(value),
                None => entry.null(),
            }
        }
    });
}

fn global_objectives() -> &'static dyn Var {
    set::global()
}

inventory::submit! {
    Entry::new(OBJECTIVES_VAR, global_objectives, file!(), line!())
}
