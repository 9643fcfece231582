//! End to end with a real Prometheus: the web example's `/metrics` passes
//! `promtool check metrics`, a Prometheus on loopback scrapes it every second, and its
//! HTTP API shows the target up, exact counter values, and data for every expression
//! of the shipped Grafana dashboard.
//!
//! Needs `prometheus` and `promtool` on `PATH` (Debian package `prometheus`). Without
//! them the test says why and passes, unless `EXPVAR_REQUIRE_E2E=1`, when it fails.
#![cfg(feature = "server")]

use std::fs;
use std::io::{Read, Write};
mod support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The job name Prometheus gives the web example.
const JOB: &str = "expvar-e2e";
/// How long any one wait may take.
const DEADLINE: Duration = Duration::from_secs(60);

/// What the dashboard's variables stand for in this test.
const VARIABLES: &[(&str, &str)] = &[
    ("$__rate_interval", "1m"),
    ("$job", JOB),
    ("$instance", ".+"),
    ("$function", ".+"),
    ("$gauge", "web_in_flight"),
    // The variables panels repeat once per chosen metric: one metric per query.
    ("$counter", "web_requests_total"),
];

/// Child processes and a temporary directory, cleaned up however the test ends.
struct Cleanup {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `GET path` over HTTP/1.1; returns the status and the body.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    // One write: a server may answer (and close) after the first segment it reads.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let chunked = head
        .lines()
        .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns `Some`, or panics with `what` and the last state.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if started.elapsed() > DEADLINE => {
                panic!("timed out waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Runs an instant query; returns the result vector.
fn query(prometheus: SocketAddr, expr: &str) -> Result<Vec<Value>, String> {
    let path = format!("/api/v1/query?query={}", url_encode(expr));
    let (status, body) = get(prometheus, &path).map_err(|error| error.to_string())?;
    let json: Value = serde_json::from_str(&body).map_err(|error| format!("{error}: {body}"))?;
    if status != 200 || json["status"] != "success" {
        return Err(format!("{status} {body}"));
    }
    match &json["data"]["result"] {
        Value::Array(result) => Ok(result.clone()),
        // A scalar result (`time()`) is data too.
        other => Ok(vec![other.clone()]),
    }
}

/// The value of the single series `expr` selects.
fn value_of(prometheus: SocketAddr, expr: &str) -> Result<f64, String> {
    let result = query(prometheus, expr)?;
    match result.as_slice() {
        [series] => series["value"][1]
            .as_str()
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("no value in {series}")),
        _ => Err(format!("{} series for {expr}", result.len())),
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

fn write_config(dir: &Path, target: SocketAddr) -> PathBuf {
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: {JOB}\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    config
}

fn promtool(args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        stdin.unwrap_or("")
    );
}

#[test]
fn real_prometheus_scrapes_the_web_example() {
    let tools = ["prometheus", "promtool"];
    if !tools
        .iter()
        .all(|tool| support::external_program(tool, &["--version"], "prometheus"))
    {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!(
        "expvar-e2e-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    fs::create_dir_all(&dir).unwrap();
    let mut cleanup = Cleanup {
        children: Vec::new(),
        dir: dir.clone(),
    };

    // The shipped configuration is valid.
    promtool(
        &[
            "check",
            "config",
            "--syntax-only",
            root.join("deploy/prometheus.yml").to_str().unwrap(),
        ],
        None,
    );

    let (web, app, debug) = support::start_web_example("127.0.0.1:0");
    // Known traffic: 5 x `index`, 3 good and 2 failing `get_user`.
    let mut requests = vec!["/"; 5];
    requests.extend(["/users/2", "/users/4", "/users/6", "/users/1", "/users/3"]);
    for path in &requests {
        let (status, _) = get(app, path).expect("a request to the web example");
        let expected = if path.starts_with("/users/") && path.ends_with(['1', '3']) {
            404
        } else {
            200
        };
        assert_eq!(status, expected, "GET {path}");
    }

    let (status, metrics) = get(debug, "/metrics").unwrap();
    assert_eq!(status, 200);
    promtool(&["check", "metrics"], Some(&metrics));

    let port = free_port();
    let prometheus_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = write_config(&dir, debug);
    let log = fs::File::create(dir.join("prometheus.log")).unwrap();
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={prometheus_addr}"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting prometheus");
    cleanup.children.push(prometheus);
    let prometheus_log = || fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();

    wait_for("the target to be up", || {
        let (_, body) = get(prometheus_addr, "/api/v1/targets").map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let targets = json["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match targets.as_slice() {
            [target] if target["health"] == "up" && target["labels"]["job"] == JOB => Ok(()),
            _ => Err(format!("{body}\n{}", prometheus_log())),
        }
    });
    let up = wait_for("up == 1", || {
        value_of(prometheus_addr, &format!("up{{job=\"{JOB}\"}}"))
    });
    assert_eq!(up, 1.0);

    // Counters bumped by the known requests read exactly.
    for (expr, expected) in [
        (format!("requests_total{{job=\"{JOB}\"}}"), 5.0),
        (format!("web_requests_total{{job=\"{JOB}\"}}"), 10.0),
        (
            format!("web_responses_by_status_total{{job=\"{JOB}\",status=\"404\"}}"),
            2.0,
        ),
        (
            format!("function_calls_total{{job=\"{JOB}\",function=\"get_user\",result=\"error\"}}"),
            2.0,
        ),
        (
            format!("function_calls_total{{job=\"{JOB}\",function=\"get_user\",result=\"ok\"}}"),
            3.0,
        ),
        (
            format!("function_calls_duration_seconds_count{{job=\"{JOB}\",function=\"get_user\"}}"),
            5.0,
        ),
    ] {
        let value = wait_for(&expr, || value_of(prometheus_addr, &expr));
        assert_eq!(value, expected, "{expr}");
    }

    // Every dashboard expression returns data (rates need two scrapes: wait for them).
    let dashboard: Value =
        serde_json::from_str(&fs::read_to_string(root.join("dashboards/expvar.json")).unwrap())
            .unwrap();
    let expressions = dashboard_expressions(&dashboard);
    assert!(expressions.len() >= 10, "{expressions:?}");
    for template in &expressions {
        let mut expr = template.clone();
        for (variable, value) in VARIABLES {
            expr = expr.replace(variable, value);
        }
        assert!(!expr.contains('$'), "unknown variable in {template}");
        wait_for(&format!("data for {expr}"), || {
            let result = query(prometheus_addr, &expr)?;
            if result.is_empty() {
                Err("no series".into())
            } else {
                Ok(())
            }
        });
    }
    eprintln!(
        "all {} dashboard expressions returned data",
        expressions.len()
    );
    drop(web);
    drop(cleanup);
    assert!(!dir.exists());
}
