//! `expvar rules`: Prometheus recording and alerting rules for objectives, read from
//! running services' `/debug/vars` (their `objectives`) or stated on the command line
//! (`--objective checkout=99.9%`). The rules are the runtime's own
//! ([`expvar::objectives::rules_yaml`]), as `/debug/objectives/rules.yml` serves them.

use std::time::Duration;

use expvar::objectives::{parse_window, rules_yaml, ObjectiveSpec, Target};
use serde_json::Value;

use crate::fetch::fetch;
use crate::limits::Limits;
use crate::target::Target as Service;

/// The objectives a `/debug/vars` document declares, sorted by name.
///
/// ```
/// let doc = serde_json::json!({"objectives": {"checkout": {
///     "window_seconds": 604800,
///     "slis": {"success": {"target": 0.999}, "latency": {"target": 0.99, "threshold": 0.25}},
/// }}});
/// let specs = expvar_cli::rules::specs_of(&doc).unwrap();
/// assert_eq!(specs[0].to_string(), "checkout: success 99.9%, latency 99% < 250ms over 7d");
/// ```
pub fn specs_of(doc: &Value) -> Result<Vec<ObjectiveSpec>, String> {
    let Some(objectives) = doc.get("objectives") else {
        return Err("no `objectives` in the document (an expvar service before 0.1?)".into());
    };
    let objectives = objectives
        .as_object()
        .ok_or("`objectives` is not an object")?;
    let mut specs = Vec::new();
    for (name, objective) in objectives {
        let malformed = |what: &str| format!("objective {name:?}: {what}");
        let window = objective["window_seconds"]
            .as_u64()
            .ok_or_else(|| malformed("no `window_seconds`"))?;
        let slis = objective["slis"]
            .as_object()
            .ok_or_else(|| malformed("no `slis`"))?;
        let mut targets = Vec::new();
        for kind in ["success", "latency"] {
            let Some(sli) = slis.get(kind) else { continue };
            let target = sli["target"]
                .as_f64()
                .ok_or_else(|| malformed(&format!("no {kind} `target`")))?;
            let threshold_seconds = match kind {
                "latency" => Some(
                    sli["threshold"]
                        .as_f64()
                        .ok_or_else(|| malformed("no latency `threshold`"))?,
                ),
                _ => None,
            };
            targets.push(Target {
                target,
                threshold_seconds,
            });
        }
        specs.push(ObjectiveSpec {
            name: name.clone(),
            window: Duration::from_secs(window),
            targets,
        });
    }
    Ok(specs)
}

/// `--objective NAME=OBJECTIVE` (`checkout=99.9%`, `search=99% < 250ms`) over `window`:
/// the flags given for one name make one objective.
///
/// ```
/// let specs = expvar_cli::rules::specs_from_flags(
///     &["checkout=99.9%".into(), "checkout=99% < 250ms".into()],
///     "7d",
/// )
/// .unwrap();
/// assert_eq!(specs[0].to_string(), "checkout: success 99.9%, latency 99% < 250ms over 7d");
/// assert!(expvar_cli::rules::specs_from_flags(&["checkout".into()], "30d").is_err());
/// ```
pub fn specs_from_flags(flags: &[String], window: &str) -> Result<Vec<ObjectiveSpec>, String> {
    let window = parse_window(window).map_err(|error| format!("--window: {error}"))?;
    let mut specs: Vec<ObjectiveSpec> = Vec::new();
    for flag in flags {
        let Some((name, objective)) = flag.split_once('=') else {
            return Err(format!(
                "--objective {flag:?}: write NAME=OBJECTIVE, as in `checkout=99.9%`"
            ));
        };
        let target = Target::parse(objective.trim())
            .map_err(|error| format!("--objective {flag:?}: {error}"))?;
        let name = name.trim();
        match specs.iter_mut().find(|spec| spec.name == name) {
            Some(spec) if spec.targets.iter().any(|t| t.kind() == target.kind()) => {
                return Err(format!(
                    "--objective {flag:?}: {name} has a {} objective already",
                    target.kind()
                ))
            }
            Some(spec) => spec.targets.push(target),
            None => specs.push(ObjectiveSpec {
                name: name.to_owned(),
                window,
                targets: vec![target],
            }),
        }
    }
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(specs)
}

/// The objectives of every service, one list: an objective several services declare
/// alike is listed once; declared differently, it is an error.
pub fn merge(mut specs: Vec<ObjectiveSpec>) -> Result<Vec<ObjectiveSpec>, String> {
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut merged: Vec<ObjectiveSpec> = Vec::with_capacity(specs.len());
    for spec in specs {
        match merged.last() {
            Some(last) if last.name == spec.name && *last == spec => {}
            Some(last) if last.name == spec.name => {
                return Err(format!(
                    "objective {:?} is declared differently by two services: {last} and {spec}",
                    spec.name
                ))
            }
            _ => merged.push(spec),
        }
    }
    Ok(merged)
}

/// The rule file for `services`' objectives, or for those of `flags` when no service is
/// given.
pub fn run(
    services: &[Service],
    flags: &[String],
    window: &str,
    time_scale: f64,
    timeout: Duration,
) -> Result<String, String> {
    let specs = if services.is_empty() {
        if flags.is_empty() {
            return Err("name services to read objectives from, or give --objective".into());
        }
        specs_from_flags(flags, window)?
    } else {
        if !flags.is_empty() {
            return Err("--objective is for rules without services; give one or the other".into());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        let mut specs = Vec::new();
        for service in services {
            let doc = runtime
                .block_on(fetch(service, timeout, Limits::default()))
                .result
                .map_err(|error| format!("{service}: {error}"))?;
            specs.extend(specs_of(&doc).map_err(|error| format!("{service}: {error}"))?);
        }
        merge(specs)?
    };
    if !(time_scale >= 1.0 && time_scale.is_finite()) {
        return Err(format!("--time-scale must be at least 1, not {time_scale}"));
    }
    Ok(rules_yaml(&specs, time_scale))
}
