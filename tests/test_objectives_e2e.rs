//! Objectives end to end, from "declare" to "alert fires":
//!
//! - the generated rules pass `promtool check rules`, and `promtool test rules` runs the
//!   unit tests in `tests/objectives/rules-test.yml` (a fast burn pages within its
//!   `for`, a slow burn opens only a ticket, a healthy job fires nothing);
//! - `examples/objectives.rs` under a time scale: the burn rates in its `/debug/vars`
//!   are what the injected failures imply, exactly, and its health turns `degraded`
//!   and back once the failures stop and the windows pass;
//! - a real Prometheus loaded with the example's own rules, scraping it while its
//!   checkout fails: the recording rules return the ratio the failures caused, the page
//!   alert goes pending and fires, and every expression of `dashboards/objectives.json`
//!   returns data.
//!
//! The Prometheus parts need `prometheus` and `promtool` (Debian package `prometheus`):
//! without them they say why and pass, unless `EXPVAR_REQUIRE_E2E=1`.
#![cfg(feature = "server")]

use std::fs;
use std::time::Duration;

use expvar::objectives::{rules_yaml, ObjectiveSpec, Target, DEFAULT_WINDOW};
use expvar_test_support as support;
use serde_json::Value;
use support::prometheus::{dashboard_expressions, promtool, Prometheus};
use support::{external_program, get, wait_for, ObjectivesExample, TempDir};

#[test]
fn generated_rules_pass_promtool_check_and_unit_tests() {
    if !external_program("promtool", &["--version"], "prometheus") {
        return;
    }
    let dir = TempDir::new("expvar-objective-rules");
    let checkout = ObjectiveSpec {
        name: "checkout".into(),
        window: DEFAULT_WINDOW,
        targets: vec![Target::parse("99.9%").unwrap()],
    };
    let rules = dir.path().join("rules.yml");
    fs::write(&rules, rules_yaml(&[checkout], 1.0)).unwrap();
    let tests = dir.path().join("rules-test.yml");
    fs::copy(
        support::repo_root().join("tests/objectives/rules-test.yml"),
        &tests,
    )
    .unwrap();
    let checked = promtool(&["check", "rules", rules.to_str().unwrap()], None);
    assert!(checked.contains("SUCCESS: 6 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", tests.to_str().unwrap()], None);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Both indicators, several objectives, a name to escape, scaled windows: valid too.
    let many = [
        ObjectiveSpec {
            name: "search \"v2\"".into(),
            window: Duration::from_secs(7 * 86_400),
            targets: vec![
                Target::parse("99.5%").unwrap(),
                Target::parse("95% < 62.5ms").unwrap(),
            ],
        },
        ObjectiveSpec {
            name: "login".into(),
            window: DEFAULT_WINDOW,
            targets: vec![Target::parse("99% < 1s").unwrap()],
        },
    ];
    for scale in [1.0, 60.0, 360.0] {
        fs::write(&rules, rules_yaml(&many, scale)).unwrap();
        let checked = promtool(&["check", "rules", rules.to_str().unwrap()], None);
        assert!(checked.contains("SUCCESS: 18 rules found"), "{checked}");
    }
}

/// `objectives.checkout` in the example's `/debug/vars`.
fn checkout(example: &ObjectivesExample) -> Value {
    let vars: Value = serde_json::from_str(&get(example.addr, "/debug/vars").body).unwrap();
    vars["objectives"]["checkout"].clone()
}

#[test]
fn the_example_burns_exactly_what_it_failed_and_health_degrades_and_recovers() {
    // 1 h lasts 30 s, 6 h three minutes: the whole test stays inside the long windows.
    let mut example = ObjectivesExample::start(120.0);
    let health = get(example.addr, "/status/health");
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));

    example.send("ok 1000");
    // 2,000 calls, 1,000 failing: 1,000 bad of 3,000 since start.
    example.send("fail 1000");
    let ratio = 1000.0 / 3000.0;
    let burn = ratio / 0.01;
    let success = wait_for("the sampler to see the failures", || {
        let success = checkout(&example)["slis"]["success"].clone();
        match success["error_ratio"]["6h"].as_f64() {
            Some(seen) if seen == ratio => Ok(success),
            _ => Err(success.to_string()),
        }
    });
    assert_eq!(
        (success["total"].as_u64(), success["errors"].as_u64()),
        (Some(3000), Some(1000))
    );
    // Every window that reaches back to the start holds every call: the same ratio and
    // burn rate, to the last bit.
    let since_start = success["windows_since_start"].as_array().unwrap().clone();
    assert!(since_start.contains(&"1h".into()) && since_start.contains(&"6h".into()));
    for window in since_start {
        let window = window.as_str().unwrap();
        assert_eq!(
            success["error_ratio"][window].as_f64(),
            Some(ratio),
            "{window}"
        );
        assert_eq!(
            success["burn_rate"][window].as_f64(),
            Some(burn),
            "{window}"
        );
    }
    // Calls of a few microseconds: none over 250 ms.
    let latency = checkout(&example)["slis"]["latency"].clone();
    assert_eq!(
        (latency["total"].as_u64(), latency["errors"].as_u64()),
        (Some(3000), Some(0))
    );

    // Burning 33x: above 14.4x over 1 h and 5 m, a page. Health says so, with 200.
    let degraded = wait_for("health to turn degraded", || {
        let health = get(example.addr, "/status/health");
        if health.body.starts_with("degraded\n") {
            Ok(health)
        } else {
            Err(health.body)
        }
    });
    assert_eq!(degraded.status, 200);
    assert!(
        degraded
            .body
            .contains("objective checkout: page: success 99% burning 33.333x over 1h"),
        "{}",
        degraded.body
    );
    assert_eq!(checkout(&example)["alert"], "page");

    // Good calls only: once the 5 m window (2.5 s) is clean the page stops; once the
    // 30 m window (15 s) is, the ticket too, and health is OK again.
    let healthy = wait_for("health to recover", || {
        example.send("ok 100");
        std::thread::sleep(Duration::from_millis(200));
        let health = get(example.addr, "/status/health");
        if health.body == "OK" {
            Ok(health)
        } else {
            Err(health.body)
        }
    });
    assert_eq!(healthy.status, 200);
    let checkout = checkout(&example);
    assert_eq!(checkout["alert"], Value::Null);
    assert_eq!(checkout["slis"]["success"]["error_ratio"]["30m"], 0.0);
}

#[test]
fn a_real_prometheus_pages_on_the_example_with_its_own_rules() {
    if !Prometheus::available() {
        return;
    }
    // 5 m lasts 5 s, 1 h a minute; the page's `for` of 2 minutes, 2 seconds.
    let mut example = ObjectivesExample::start(60.0);
    let rules = get(example.addr, "/debug/objectives/rules.yml");
    assert_eq!(rules.status, 200);
    assert!(rules.body.contains("[5s]"), "{}", rules.body);
    assert!(rules.body.contains("for: 2s"), "{}", rules.body);
    let dir = TempDir::new("expvar-objective-prometheus");
    let rule_file = dir.path().join("rules.yml");
    fs::write(&rule_file, &rules.body).unwrap();
    promtool(&["check", "rules", rule_file.to_str().unwrap()], None);

    let prometheus = Prometheus::start(
        &format!(
            "rule_files: [\"{}\"]\nscrape_configs:\n  - job_name: checkout\n    \
             static_configs:\n      - targets: [\"{}\"]\n",
            rule_file.display(),
            example.addr
        ),
        &[],
    );
    // Traffic all along, from another thread: 100 good calls, then 50 good and 50
    // failing interleaved, every 100 ms.
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let failing = std::sync::Arc::clone(&failing);
        std::thread::spawn(move || loop {
            let command = if failing.load(std::sync::atomic::Ordering::Relaxed) {
                "fail 50"
            } else {
                "ok 100"
            };
            example.send(command);
            std::thread::sleep(Duration::from_millis(100));
            if std::sync::Arc::strong_count(&failing) == 1 {
                return example;
            }
        })
    };
    let ratio = |window: &str| {
        prometheus.value_of(&format!(
            "job:expvar_objective_error_ratio:rate{window}{{job=\"checkout\",objective=\"checkout\",sli=\"success\"}}"
        ))
    };
    let healthy = wait_for("a healthy error ratio over 5m", || ratio("5m"));
    assert_eq!(healthy, 0.0);

    failing.store(true, std::sync::atomic::Ordering::Relaxed);
    // Half the calls fail: once the 5 s window holds only failing traffic, its ratio is
    // a half (within the calls of one batch that a scrape may split). Meanwhile the
    // page alert goes pending, and fires 2 s later.
    let mut states: Vec<String> = Vec::new();
    let mut caused = None;
    wait_for(
        "the failures in the recording rule and the page alert firing",
        || {
            let alerts = prometheus.api("/api/v1/alerts")?["alerts"].clone();
            for alert in alerts.as_array().into_iter().flatten() {
                let labels = &alert["labels"];
                if labels["alertname"] == "ExpvarObjectivePage" && labels["sli"] == "success" {
                    assert_eq!(labels["objective"], "checkout");
                    assert_eq!(labels["severity"], "page");
                    assert_eq!(labels["job"], "checkout");
                    let state = alert["state"].as_str().unwrap_or_default().to_owned();
                    if !states.contains(&state) {
                        states.push(state);
                    }
                }
            }
            if let Ok(value) = ratio("5m") {
                if (value - 0.5).abs() < 0.01 {
                    caused = Some(value);
                }
            }
            if caused.is_some() && states.iter().any(|state| state == "firing") {
                Ok(())
            } else {
                Err(format!("{states:?} {caused:?} {alerts}"))
            }
        },
    );
    // Seen pending for its 2 s `for`, then firing.
    assert_eq!(states, ["pending", "firing"]);

    // The objectives dashboard is built on the recording rules: each of its
    // expressions has data.
    let dashboard: Value = serde_json::from_str(
        &fs::read_to_string(support::repo_root().join("dashboards/objectives.json")).unwrap(),
    )
    .unwrap();
    let expressions = dashboard_expressions(&dashboard);
    assert!(expressions.len() >= 5, "{expressions:?}");
    for template in &expressions {
        let expr = template
            .replace("$job", "checkout")
            .replace("$objective", "checkout")
            .replace("$__rate_interval", "5s");
        assert!(!expr.contains('$'), "unknown variable in {template}");
        wait_for(&format!("data for {expr}"), || {
            match prometheus.query(&expr) {
                Ok(result) if !result.is_empty() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        });
    }

    drop(failing);
    drop(traffic.join().unwrap());
}
