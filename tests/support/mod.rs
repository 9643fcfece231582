//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

pub mod exposition;
pub mod hostile;
pub mod sse;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `method path` with extra header lines and `Connection: close`, reads the whole
/// response.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> Response {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        raw.push_str(header);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    send_raw(addr, raw.as_bytes())
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[])
}

/// Writes `raw` bytes and parses what comes back until the server closes.
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(raw).expect("write request");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read response");
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Response {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A child process killed when dropped, so a failing test never leaves one behind.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of a compiled example of this package. `cargo test` builds the examples
/// before it runs the integration tests; they sit beside the test binaries' `deps/`.
pub fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --example {name}` (cargo test builds it)",
        path.display()
    );
    path
}

/// Reads lines from `reader` until one starts with `prefix`; returns the rest of it.
pub fn wait_for_line(reader: &mut impl std::io::BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line).expect("read child output");
        assert!(read > 0, "child exited before printing {prefix:?}");
        if let Some(rest) = line.trim_end().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// Starts `examples/web.rs` with its app on a free port and its debug endpoint on
/// `debug_addr`; returns the running example and both addresses it printed.
pub fn start_web_example(debug_addr: &str) -> (ChildGuard, SocketAddr, SocketAddr) {
    let mut child = std::process::Command::new(example_path("web"))
        .env("WEB_ADDR", "127.0.0.1:0")
        .env("EXPVAR_ADDR", debug_addr)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start examples/web");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let app = wait_for_line(&mut stdout, "app listening on http://");
    let debug = wait_for_line(&mut stdout, "debug listening on http://");
    // Keep reading: a closed pipe would fail the example's next print and end it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, app.parse().unwrap(), debug.parse().unwrap())
}

/// Whether `program` runs (`program args...` exits successfully). When it does not, the
/// calling test should return early: this prints why, or fails the test instead when
/// `EXPVAR_REQUIRE_E2E=1` (as `.ci/run` sets), so CI never skips silently.
pub fn external_program(program: &str, args: &[&str], debian_package: &str) -> bool {
    let runs = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !runs {
        skip_or_fail(&format!(
            "`{program}` is not installed (apt-get install {debian_package})"
        ));
    }
    runs
}

/// Reports why an end-to-end test cannot run: a printed skip on a developer's machine, a
/// failure when `EXPVAR_REQUIRE_E2E=1`.
pub fn skip_or_fail(reason: &str) {
    assert!(
        std::env::var("EXPVAR_REQUIRE_E2E").as_deref() != Ok("1"),
        "EXPVAR_REQUIRE_E2E=1 but {reason}"
    );
    eprintln!("skipping: {reason}");
}

/// What `go tool pprof -raw` prints for `profile`, written under `name` in the test's
/// scratch directory; `None` (skipped, or failed under `EXPVAR_REQUIRE_E2E=1`) without Go.
pub fn go_pprof_raw(profile: &[u8], name: &str) -> Option<String> {
    if !external_program("go", &["version"], "golang-go") {
        return None;
    }
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&scratch).unwrap();
    let file = scratch.join("profile.pb");
    std::fs::write(&file, profile).unwrap();
    let output = std::process::Command::new("go")
        .args(["tool", "pprof", "-raw"])
        .arg(&file)
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", scratch.join("cache"))
        .env("HOME", &scratch)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "go tool pprof failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(stdout)
}
