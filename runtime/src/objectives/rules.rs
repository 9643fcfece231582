//! Prometheus recording and alerting rules for objectives: the error ratio of each
//! indicator over the short windows, aggregated across instances by `job`, and the page
//! and ticket burn-rate alerts of the SRE workbook on those ratios.
//!
//! For an objective `checkout` promising 99.9% success, the rules compute
//!
//! ```text
//! job:expvar_objective_error_ratio:rate1h{objective="checkout",sli="success"}
//!   = sum by (job, objective, sli) (rate(expvar_objective_errors_total{...}[1h]))
//!   / sum by (job, objective, sli) (rate(expvar_objective_requests_total{...}[1h]))
//! ```
//!
//! and page when that ratio exceeds `14.4 * (1 - 0.999)` over both 1 h and 5 m, for 2
//! minutes; a ticket when it exceeds `6 * (1 - 0.999)` over both 6 h and 30 m, for 15
//! minutes. The same arithmetic as the process's own ([`burn`](super::burn)).

use std::fmt::Write as _;
use std::time::Duration;

use crate::objectives::burn::{Alert, WINDOWS};
use crate::objectives::objective::ObjectiveSpec;
use crate::objectives::spec::{format_window, SliKind, Target};

/// How long each alert's condition must hold before it fires (before the time scale).
pub const PAGE_FOR: Duration = Duration::from_secs(120);
/// See [`PAGE_FOR`].
pub const TICKET_FOR: Duration = Duration::from_secs(900);

/// The recording rule's name for the error ratio over `window` (`5m`, `1h`, ...).
///
/// ```
/// assert_eq!(
///     expvar::objectives::error_ratio_rule("5m"),
///     "job:expvar_objective_error_ratio:rate5m"
/// );
/// ```
pub fn error_ratio_rule(window: &str) -> String {
    format!("job:expvar_objective_error_ratio:rate{window}")
}

/// The rules for `objectives` as a Prometheus rule file (YAML), one group per
/// objective; every window and `for` duration divided by `time_scale` (1 for real time,
/// see [`TIME_SCALE_VAR`](super::TIME_SCALE_VAR)).
///
/// ```
/// use std::time::Duration;
/// use expvar::objectives::{rules_yaml, ObjectiveSpec, Target};
///
/// let checkout = ObjectiveSpec {
///     name: "checkout".into(),
///     window: Duration::from_secs(30 * 86_400),
///     targets: vec![Target::parse("99.9%").unwrap()],
/// };
/// let yaml = rules_yaml(&[checkout], 1.0);
/// assert!(yaml.contains("- record: job:expvar_objective_error_ratio:rate5m"));
/// assert!(yaml.contains("- alert: ExpvarObjectivePage"));
/// ```
pub fn rules_yaml(objectives: &[ObjectiveSpec], time_scale: f64) -> String {
    let mut out = String::from(
        "# Recording and alerting rules for expvar objectives (generated; see the expvar\n\
         # README, \"Objectives\"). Load with `rule_files:` in prometheus.yml.\n",
    );
    if time_scale != 1.0 {
        let _ = writeln!(
            out,
            "# Every window and `for` is divided by the time scale {time_scale} (for tests)."
        );
    }
    if objectives.is_empty() {
        out.push_str("groups: []\n");
        return out;
    }
    out.push_str("groups:\n");
    for objective in objectives {
        let _ = writeln!(
            out,
            "  - name: {}",
            quoted(&format!("expvar-objective-{}", objective.name))
        );
        out.push_str("    rules:\n");
        for target in &objective.targets {
            recording_rules(&mut out, objective, target, time_scale);
        }
        for target in &objective.targets {
            for alert in [Alert::Page, Alert::Ticket] {
                alert_rule(&mut out, objective, target, alert, time_scale);
            }
        }
    }
    out
}

fn recording_rules(out: &mut String, objective: &ObjectiveSpec, target: &Target, scale: f64) {
    let selector = selector(&objective.name, target.kind());
    for (name, span) in WINDOWS {
        let range = prometheus_duration(span, scale);
        let expr = format!(
            "sum by (job, objective, sli) (rate(expvar_objective_errors_total{selector}[{range}]))\n\
             / sum by (job, objective, sli) (rate(expvar_objective_requests_total{selector}[{range}]))"
        );
        let _ = writeln!(out, "      - record: {}", error_ratio_rule(name));
        let _ = writeln!(out, "        expr: {}", block(&expr, 10));
        // The labels the expression keeps anyway, stated so each rule is told apart
        // from the same record of another objective (`promtool check rules` lints
        // records that share a name and labels).
        out.push_str("        labels:\n");
        let _ = writeln!(out, "          objective: {}", quoted(&objective.name));
        let _ = writeln!(out, "          sli: {}", target.kind());
    }
}

fn alert_rule(
    out: &mut String,
    objective: &ObjectiveSpec,
    target: &Target,
    alert: Alert,
    scale: f64,
) {
    let selector = selector(&objective.name, target.kind());
    let (long, short) = alert.windows();
    let (long, short) = (WINDOWS[long].0, WINDOWS[short].0);
    let rate = alert.burn_rate();
    let budget = target.budget();
    let expr = format!(
        "{long_rule}{selector} > ({rate} * {budget})\n\
         and {short_rule}{selector} > ({rate} * {budget})",
        long_rule = error_ratio_rule(long),
        short_rule = error_ratio_rule(short),
    );
    let (name, wait) = match alert {
        Alert::Page => ("ExpvarObjectivePage", PAGE_FOR),
        Alert::Ticket => ("ExpvarObjectiveTicket", TICKET_FOR),
    };
    let promise = format!("{} {}", target.kind(), target);
    let summary = format!(
        "Objective {} ({promise}) burns its {} error budget over {rate}x too fast",
        objective.name,
        format_window(objective.window)
    );
    // No `$value`: the text depends on the labels only, so rule unit tests can state it.
    let description = format!(
        "Job {{{{ $labels.job }}}}: more than {} of events were bad over the last {long} and \
         over the last {short}, against a budget of {}. At {rate}x, the budget of {} lasts {}.",
        percent_text(rate * budget),
        percent_text(budget),
        format_window(objective.window),
        lasts(objective.window, rate),
    );
    let _ = writeln!(out, "      - alert: {name}");
    let _ = writeln!(out, "        expr: {}", block(&expr, 10));
    let _ = writeln!(out, "        for: {}", prometheus_duration(wait, scale));
    out.push_str("        labels:\n");
    let _ = writeln!(out, "          severity: {}", alert.as_str());
    let _ = writeln!(out, "          objective: {}", quoted(&objective.name));
    let _ = writeln!(out, "          sli: {}", target.kind());
    out.push_str("        annotations:\n");
    let _ = writeln!(out, "          summary: {}", quoted(&summary));
    let _ = writeln!(out, "          description: {}", quoted(&description));
}

/// `{objective="...",sli="..."}`, the name escaped for PromQL.
fn selector(objective: &str, sli: SliKind) -> String {
    let escaped = objective.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{{objective=\"{escaped}\",sli=\"{sli}\"}}")
}

/// A YAML literal block (`|-`) indented by `indent`: PromQL as written, nothing to escape.
fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from("|-");
    for line in text.lines() {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(line);
    }
    out
}

/// A YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Prometheus duration (`5m`, `2s`, `833ms`): `span` divided by `scale`, whole
/// milliseconds, at least 1 ms.
fn prometheus_duration(span: Duration, scale: f64) -> String {
    let millis = ((span.as_secs_f64() * 1000.0 / scale).round() as u64).max(1);
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if millis % size == 0 {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

/// `0.1%` for a budget of 0.001.
fn percent_text(budget: f64) -> String {
    crate::objectives::objective::percent(budget)
}

/// How long a budget of `window` lasts at `rate` times the sustainable burn.
fn lasts(window: Duration, rate: f64) -> String {
    let hours = window.as_secs_f64() / 3600.0 / rate;
    if hours >= 48.0 {
        format!("{:.0} days", hours / 24.0)
    } else {
        format!("{hours:.0} hours")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_prometheus_units() {
        assert_eq!(prometheus_duration(Duration::from_secs(300), 1.0), "5m");
        assert_eq!(prometheus_duration(Duration::from_secs(21_600), 1.0), "6h");
        assert_eq!(prometheus_duration(Duration::from_secs(300), 60.0), "5s");
        assert_eq!(prometheus_duration(Duration::from_secs(3600), 60.0), "1m");
        assert_eq!(
            prometheus_duration(Duration::from_secs(300), 360.0),
            "833ms"
        );
        assert_eq!(prometheus_duration(Duration::from_secs(120), 60.0), "2s");
    }

    #[test]
    fn one_group_per_objective_with_both_indicators() {
        let spec = ObjectiveSpec {
            name: "shop \"checkout\"".into(),
            window: Duration::from_secs(7 * 86_400),
            targets: vec![
                Target::parse("99.9%").unwrap(),
                Target::parse("99% < 250ms").unwrap(),
            ],
        };
        let yaml = rules_yaml(&[spec], 1.0);
        assert_eq!(yaml.matches("  - name: ").count(), 1);
        assert_eq!(yaml.matches("- record: ").count(), 8);
        assert_eq!(yaml.matches("- alert: ").count(), 4);
        assert!(yaml.contains(
            "        expr: |-\n          job:expvar_objective_error_ratio:rate1h{objective=\"shop \\\"checkout\\\"\",sli=\"latency\"} > (14.4 * 0.01)\n"
        ));
        assert!(yaml.contains("          objective: \"shop \\\"checkout\\\"\"\n"));
        assert!(yaml.contains("        for: 15m\n"));
        assert!(yaml.contains(
            "description: \"Job {{ $labels.job }}: more than 14.4% of events were bad over the last 1h and over the last 5m, against a budget of 1%. At 14.4x, the budget of 7d lasts 12 hours.\"\n"
        ), "{yaml}");
        assert_eq!(rules_yaml(&[], 1.0).lines().last(), Some("groups: []"));
    }
}
