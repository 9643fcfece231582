//! A real Prometheus on loopback, its HTTP API, and promtool.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{external_program, free_port, try_get, url_encode, wait_for, ChildGuard, TempDir};

/// A Prometheus server on a free loopback port with its own data directory, stopped and
/// removed when dropped.
pub struct Prometheus {
    pub addr: SocketAddr,
    /// Declared first: the server stops before its directory goes.
    _process: ChildGuard,
    dir: TempDir,
}

impl Prometheus {
    /// Whether `prometheus` and `promtool` are installed (see [`external_program`]).
    pub fn available() -> bool {
        ["prometheus", "promtool"]
            .iter()
            .all(|tool| external_program(tool, &["--version"], "prometheus"))
    }

    /// Starts Prometheus with `config` (YAML: `scrape_configs`, `rule_files`, ...; the
    /// global intervals default to one second unless `config` sets `global`) and `args`
    /// (`--web.enable-remote-write-receiver`, `--enable-feature=...`). Waits until it
    /// is ready.
    pub fn start(config: &str, args: &[&str]) -> Prometheus {
        let dir = TempDir::new("expvar-prometheus");
        Self::start_in(dir, config, args)
    }

    /// As [`start`](Self::start), in `dir` (reused across restarts: the same data).
    pub fn start_in(dir: TempDir, config: &str, args: &[&str]) -> Prometheus {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        Self::start_at(dir, addr, config, args)
    }

    /// As [`start_in`](Self::start_in), listening on `addr`.
    pub fn start_at(dir: TempDir, addr: SocketAddr, config: &str, args: &[&str]) -> Prometheus {
        let global = if config.contains("global:") {
            ""
        } else {
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        };
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, format!("{global}{config}")).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("prometheus.log"))
            .unwrap();
        let process = ChildGuard(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .args(args)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start prometheus"),
        );
        let prometheus = Prometheus {
            addr,
            _process: process,
            dir,
        };
        wait_for("prometheus to be ready", || {
            match try_get(addr, "/-/ready", &[]) {
                Ok(response) if response.status == 200 => Ok(()),
                Ok(response) => Err(format!("{} {}", response.status, prometheus.log())),
                Err(error) => Err(format!("{error}\n{}", prometheus.log())),
            }
        });
        prometheus
    }

    /// Stops the server and gives back its directory, to start it again on the same data.
    pub fn stop(self) -> TempDir {
        let Prometheus { _process, dir, .. } = self;
        drop(_process);
        dir
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query's result vector (a scalar result counts as one element).
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        self.api(&format!("/api/v1/query?query={}", url_encode(expr)))
            .map(|data| match &data["result"] {
                Value::Array(result) => result.clone(),
                other => vec![other.clone()],
            })
    }

    /// The value of the single series `expr` selects.
    pub fn value_of(&self, expr: &str) -> Result<f64, String> {
        let result = self.query(expr)?;
        match result.as_slice() {
            [series] => series["value"][1]
                .as_str()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("no value in {series}")),
            _ => Err(format!("{} series for {expr}", result.len())),
        }
    }

    /// `GET path` on the HTTP API; its `data`, or why not.
    pub fn api(&self, path: &str) -> Result<Value, String> {
        let response = try_get(self.addr, path, &[]).map_err(|error| error.to_string())?;
        let json: Value = serde_json::from_str(&response.body)
            .map_err(|error| format!("{error}: {}", response.body))?;
        if response.status != 200 || json["status"] != "success" {
            return Err(format!("{} {}", response.status, response.body));
        }
        Ok(json["data"].clone())
    }
}

/// Runs `promtool args...` with `stdin`; panics with what it said unless it succeeds.
pub fn promtool(args: &[&str], stdin: Option<&str>) -> String {
    let output = run_promtool(args, stdin);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{said}\n{}",
        stdin.unwrap_or("")
    );
    said
}

/// Runs `promtool args...` with `stdin`; its output whatever its exit status.
pub fn run_promtool(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// `promtool check metrics` on `text`; panics with its complaint.
pub fn promtool_check(text: &str) {
    promtool(&["check", "metrics"], Some(text));
}

/// Every `expr` in a Grafana dashboard's panels, rows included.
pub fn dashboard_expressions(dashboard: &Value) -> Vec<String> {
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
