//! A real VictoriaMetrics (Debian's `victoria-metrics`) on loopback, a store built for
//! scale-out that takes Prometheus remote write at `/api/v1/write`, read back through
//! its Prometheus-compatible query API.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;

use crate::{external_program, free_port, try_get, url_encode, wait_for, ChildGuard, TempDir};

/// A VictoriaMetrics server with its own data directory, stopped and removed when
/// dropped.
pub struct VictoriaMetrics {
    pub addr: SocketAddr,
    _process: ChildGuard,
    _dir: TempDir,
}

impl VictoriaMetrics {
    /// Starts one and waits until it answers, or `None` (skipped, or a failure under
    /// `EXPVAR_REQUIRE_E2E=1`) when `victoria-metrics` is not installed.
    pub fn start() -> Option<VictoriaMetrics> {
        if !external_program("victoria-metrics", &["-version"], "victoria-metrics") {
            return None;
        }
        let dir = TempDir::new("expvar-victoria");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.path().join("victoria.log")).unwrap();
        let process = ChildGuard(
            Command::new("victoria-metrics")
                .arg(format!(
                    "-storageDataPath={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("-httpListenAddr={addr}"))
                // Show samples as soon as they are stored, not a minute later.
                .arg("-search.latencyOffset=0s")
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start victoria-metrics"),
        );
        wait_for("victoria-metrics to answer", || {
            match try_get(addr, "/health", &[]) {
                Ok(response) if response.status == 200 => Ok(()),
                Ok(response) => Err(format!("{} {}", response.status, response.body)),
                Err(error) => Err(error.to_string()),
            }
        });
        Some(VictoriaMetrics {
            addr,
            _process: process,
            _dir: dir,
        })
    }

    /// Its remote-write URL.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// An instant query's result vector, as Prometheus's API gives it.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let path = format!("/api/v1/query?query={}", url_encode(expr));
        let response = try_get(self.addr, &path, &[]).map_err(|error| error.to_string())?;
        let json: Value = serde_json::from_str(&response.body)
            .map_err(|error| format!("{error}: {}", response.body))?;
        if response.status != 200 || json["status"] != "success" {
            return Err(format!("{} {}", response.status, response.body));
        }
        Ok(json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
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
}
