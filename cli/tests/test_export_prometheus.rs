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
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{
    external_program, free_port, get, go_expvar_binary, start_export, start_go, start_quickstart,
    start_web, wait_for, ChildGuard,
};

const JOB: &str = "fleet";

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// An instant query's result vector (a scalar result counts as one element).
fn query(prometheus: SocketAddr, expr: &str) -> Result<Vec<Value>, String> {
    let path = format!("/api/v1/query?query={}", url_encode(expr));
    let (status, _, body) = get(prometheus, &path, &[]).map_err(|error| error.to_string())?;
    let json: Value = serde_json::from_str(&body).map_err(|error| format!("{error}: {body}"))?;
    if status != 200 || json["status"] != "success" {
        return Err(format!("{status} {body}"));
    }
    match &json["data"]["result"] {
        Value::Array(result) => Ok(result.clone()),
        other => Ok(vec![other.clone()]),
    }
}

/// Every `expr` in the dashboard's panels, rows included.
fn dashboard_expressions(dashboard: &Value) -> Vec<String> {
    fn collect(panels: &Value, out: &mut Vec<String>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push(expr.to_owned());
                }
            }
            collect(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    collect(&dashboard["panels"], &mut out);
    out
}

#[test]
fn real_prometheus_scrapes_the_bridge_and_the_dashboard_has_data() {
    if !external_program("prometheus", &["--version"], "prometheus") {
        return;
    }
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let go_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 10);
    let (_quickstart, quickstart) = start_quickstart("127.0.0.1:0");
    let (_web, web) = start_web();
    let targets = [go_addr.to_string(), quickstart.to_string(), web.to_string()];
    let (_bridge, bridge) = start_export(&targets, &[]);

    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prometheus-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [\"{bridge}\"]\n"
        ),
    )
    .unwrap();
    let prometheus_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prometheus = ChildGuard(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus_addr}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start prometheus"),
    );
    let prometheus_log = || fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();

    // The bridge itself is up, and each target is up behind it.
    wait_for("the bridge to be scraped", || {
        let up = query(prometheus_addr, &format!("up{{job=\"{JOB}\"}} == 1"))?;
        if up.len() == 1 {
            Ok(())
        } else {
            Err(format!("{up:?}\n{}", prometheus_log()))
        }
    });
    for target in &targets {
        let expr = format!("expvar_target_up{{job=\"{JOB}\",target=\"{target}\"}} == 1");
        wait_for(&expr, || match query(prometheus_addr, &expr)?.len() {
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
            match query(prometheus_addr, &expr)?.len() {
                0 => Err("no series".to_owned()),
                _ => Ok(()),
            }
        });
    }
    eprintln!(
        "all {} fleet dashboard expressions returned data",
        expressions.len()
    );
    fs::remove_dir_all(&dir).unwrap();
}
