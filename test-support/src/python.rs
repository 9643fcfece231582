//! Python programs as checkers that are not ours: `prometheus_client`'s strict
//! exposition parsers, and Google's protobuf library decoding the protobuf exposition
//! with the upstream `metrics.proto`. The interpreter is `EXPVAR_PYTHON` (as `.ci/run`
//! sets to its venv), else `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{external_program, skip_or_fail, TempDir};

/// Where client_model's `metrics.proto` is installed by Debian's
/// `golang-github-prometheus-client-model-dev`.
const METRICS_PROTO: &str =
    "/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/client/metrics.proto";

/// The interpreter to run, if it imports every module of `modules` (else a skip, or a
/// failure under `EXPVAR_REQUIRE_E2E=1`).
pub fn python_with(modules: &[&str]) -> Option<String> {
    let python = std::env::var("EXPVAR_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = format!("import {}", modules.join(", "));
    let package = format!(
        "a Python with {} (python3-venv, then pip install them; see .ci/run)",
        modules.join(", ")
    );
    external_program(&python, &["-c", &imports], &package).then_some(python)
}

/// A script of `test-support/python/`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// Runs `script` with `args` and `file` (holding `contents`) as its last argument;
/// its standard output, or what it said on failure.
fn run(python: &str, script: &Path, args: &[&str], contents: &[u8]) -> Result<String, String> {
    let dir = TempDir::new("expvar-python");
    let file = dir.path().join("input");
    std::fs::write(&file, contents).unwrap();
    let output = Command::new(python)
        .arg(script)
        .args(args)
        .arg(&file)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Parses `document` with `prometheus_client`'s parser for `format` (`text` or
/// `openmetrics`), which also refuses a series written twice: `Some(Ok(figures))`,
/// `Some(Err(complaint))`, or `None` when no such Python is here (skipped).
pub fn parse_exposition(format: &str, document: &str) -> Option<Result<String, String>> {
    let python = python_with(&["prometheus_client"])?;
    let script = script("parse_exposition.py");
    Some(run(&python, &script, &[format], document.as_bytes()))
}

/// Decodes a protobuf exposition with Google's protobuf library and the upstream
/// `metrics.proto`: every family in protobuf's JSON mapping, or `None` (skipped) when
/// the library, grpc_tools' protoc or the proto file is missing. Panics with the
/// decoder's complaint if it refuses the document.
pub fn decode_protobuf(document: &[u8]) -> Option<serde_json::Value> {
    let python = python_with(&["google.protobuf", "grpc_tools"])?;
    if !Path::new(METRICS_PROTO).exists() {
        skip_or_fail(&format!(
            "{METRICS_PROTO} is missing (apt-get install golang-github-prometheus-client-model-dev)"
        ));
        return None;
    }
    let script = script("decode_protobuf.py");
    let json = run(&python, &script, &[METRICS_PROTO], document).unwrap_or_else(|complaint| {
        panic!("the protobuf decoder refused the document: {complaint}")
    });
    Some(serde_json::from_str(&json).expect("the decoder prints JSON"))
}
