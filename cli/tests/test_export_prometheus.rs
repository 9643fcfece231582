//! End to end with a real Prometheus: it scrapes `expvar export` bridging Go's expvar,
//! the quickstart example and the web example every second; every expression of
//! `dashboards/fleet.json` then returns data.
//!
//! Needs `prometheus` (Debian package `prometheus`) and `go`; without them the test
//! says why and passes, unless `EXPVAR_REQUIRE_E2E=1`, when it fails.

mod support;

use std::fs;
use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;
use support::prometheus::{dashboard_expressions, Prometheus};
use support::{
    free_port, go_expvar_binary, start_export, start_go, start_quickstart, start_web_example,
    wait_for,
};

const JOB: &str = "fleet";

#[test]
fn real_prometheus_scrapes_the_bridge_and_the_dashboard_has_data() {
    if !Prometheus::available() {
        return;
    }
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let go_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 10);
    let (_quickstart, quickstart) = start_quickstart("127.0.0.1:0");
    let (_web, _, web) = start_web_example("127.0.0.1:0");
    let targets = [go_addr.to_string(), quickstart.to_string(), web.to_string()];
    let (_bridge, bridge) = start_export(&targets, &[]);

    let prometheus = Prometheus::start(
        &format!(
            "scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [\"{bridge}\"]\n"
        ),
        &[],
    );

    // The bridge itself is up, and each target is up behind it.
    wait_for("the bridge to be scraped", || {
        let up = prometheus.query(&format!("up{{job=\"{JOB}\"}} == 1"))?;
        if up.len() == 1 {
            Ok(())
        } else {
            Err(format!("{up:?}\n{}", prometheus.log()))
        }
    });
    for target in &targets {
        let expr = format!("expvar_target_up{{job=\"{JOB}\",target=\"{target}\"}} == 1");
        wait_for(&expr, || match prometheus.query(&expr)?.len() {
            1 => Ok(()),
            n => Err(format!("{n} series")),
        });
    }

    let dashboard: Value = serde_json::from_str(
        &fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards/fleet.json"))
            .unwrap(),
    )
    .unwrap();
    let expressions = dashboard_expressions(&dashboard);
    assert!(expressions.len() >= 10, "{expressions:?}");
    for template in &expressions {
        let expr = template
            .replace("$__rate_interval", "1m")
            .replace("$job", JOB)
            .replace("$target", ".+");
        assert!(!expr.contains('$'), "unknown variable in {template}");
        wait_for(&format!("data for {expr}"), || {
            match prometheus.query(&expr)?.len() {
                0 => Err("no series".to_owned()),
                _ => Ok(()),
            }
        });
    }
    eprintln!(
        "all {} fleet dashboard expressions returned data",
        expressions.len()
    );
}
