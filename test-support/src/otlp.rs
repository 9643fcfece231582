//! An OTLP/HTTP metrics receiver in Python (`python/otlp_receiver.py`) decoding with
//! the `opentelemetry-proto` package, so what the pushers send is read by a decoder
//! that is not ours.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::python::python_with;
use crate::{try_get, ChildGuard};

/// A running receiver, stopped when dropped.
pub struct OtlpReceiver {
    pub addr: SocketAddr,
    _process: ChildGuard,
}

impl OtlpReceiver {
    /// Starts a receiver answering the first requests with `replies` (a status code
    /// such as `"503"`, or `"partial:N:MESSAGE"`), the rest with 200; `None` (skipped,
    /// or a failure under `EXPVAR_REQUIRE_E2E=1`) without a Python that has
    /// `opentelemetry-proto`.
    pub fn start(replies: &[&str]) -> Option<OtlpReceiver> {
        let python =
            python_with(&["opentelemetry.proto.collector.metrics.v1.metrics_service_pb2"])?;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .join("otlp_receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(replies.join(","))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the OTLP receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the receiver prints its port");
        Some(OtlpReceiver {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _process: ChildGuard(child),
        })
    }

    /// Its metrics URL.
    pub fn url(&self) -> String {
        format!("http://{}/v1/metrics", self.addr)
    }

    /// Every request received so far: `path`, `content_type`, `content_encoding`,
    /// `user_agent`, `reply` (what it answered) and `request` (the decoded
    /// `ExportMetricsServiceRequest` in protobuf's JSON mapping).
    pub fn requests(&self) -> Vec<Value> {
        let response = try_get(self.addr, "/requests", &[]).expect("the receiver answers");
        serde_json::from_str::<Value>(&response.body)
            .expect("JSON")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
