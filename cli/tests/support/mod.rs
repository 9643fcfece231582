//! Helpers shared by the `expvar` program's tests: targets to read (Go's expvar and the
//! quickstart example), the program itself, and plain HTTP.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped, so a failing test never leaves one behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reports why an end-to-end test cannot run: a printed skip on a developer's machine, a
/// failure when `EXPVAR_REQUIRE_E2E=1` (as `.ci/run` sets).
pub fn skip_or_fail(reason: &str) {
    assert!(
        std::env::var("EXPVAR_REQUIRE_E2E").as_deref() != Ok("1"),
        "EXPVAR_REQUIRE_E2E=1 but {reason}"
    );
    eprintln!("skipping: {reason}");
}

/// Whether `program args...` runs; if not, says why (or fails under EXPVAR_REQUIRE_E2E=1).
pub fn external_program(program: &str, args: &[&str], debian_package: &str) -> bool {
    let runs = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !runs {
        skip_or_fail(&format!(
            "`{program}` is not installed (apt-get install {debian_package})"
        ));
    }
    runs
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `expvar` binary under test.
pub fn expvar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_expvar"))
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// An example of the `expvar` package, built first if `cargo test` for this package
/// alone did not (a workspace run builds it with the other examples).
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(repo_root())
            .args(["build", "-p", "expvar", "--example", name])
            .status()
            .expect("run cargo build --example");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    path
}

/// Reads `reader` until a line starts with `prefix`; returns the rest of that line.
fn wait_for_line(reader: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "child ended before {prefix:?}"
        );
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// Starts the web example (instrumented functions) with its debug endpoint on a free
/// port; returns it and that endpoint's address.
pub fn start_web() -> (ChildGuard, SocketAddr) {
    let mut child = Command::new(example_path("web"))
        .env("WEB_ADDR", "127.0.0.1:0")
        .env("EXPVAR_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the web example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let debug = wait_for_line(&mut stdout, "debug listening on http://");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, debug.parse().unwrap())
}

/// Starts the quickstart example at `addr` (`127.0.0.1:0` for any port); returns it and
/// its address.
pub fn start_quickstart(addr: &str) -> (ChildGuard, SocketAddr) {
    let mut child = Command::new(example_path("quickstart"))
        .env("EXPVAR_ADDR", addr)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the quickstart example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let url = wait_for_line(&mut stdout, "serving http://");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, url.trim_end_matches("/debug/vars").parse().unwrap())
}

/// The Go reference server (`shared/anchors/go-expvar`), built once per test binary
/// into the target directory; `None` (with a skip or a failure) when `go` or the
/// anchor is missing.
pub fn go_expvar_binary() -> Option<PathBuf> {
    if !external_program("go", &["version"], "golang-go") {
        return None;
    }
    // CI clones the repository next to `shared/`; a worktree may sit deeper.
    let Some(anchor) = repo_root()
        .ancestors()
        .map(|dir| dir.join("shared/anchors/go-expvar"))
        .find(|dir| dir.join("main.go").exists())
    else {
        skip_or_fail("shared/anchors/go-expvar is not beside the repository");
        return None;
    };
    static BUILT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = &*built {
        return Some(path.clone());
    }
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
    let binary = scratch.join("goexpvar");
    // Built from a copy: CI's shared/ is read-only.
    let source = scratch.join("src");
    std::fs::create_dir_all(&source).unwrap();
    for file in ["go.mod", "main.go"] {
        std::fs::copy(anchor.join(file), source.join(file)).unwrap();
    }
    let output = Command::new("go")
        .current_dir(&source)
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        // Standard library only: never reach for a module proxy or a newer toolchain.
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .env("GOPATH", scratch.join("path"))
        .env("GOCACHE", scratch.join("cache"))
        .output()
        .expect("run go build");
    assert!(
        output.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    *built = Some(binary.clone());
    Some(binary)
}

/// Starts Go's expvar at `addr` with `vars` extra integers; waits until it answers.
pub fn start_go(binary: &Path, addr: SocketAddr, vars: usize) -> ChildGuard {
    let guard = ChildGuard(
        Command::new(binary)
            .args(["-addr", &addr.to_string(), "-vars", &vars.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start go-expvar"),
    );
    wait_for("go-expvar to answer", || {
        get(addr, "/debug/vars", &[])
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    guard
}

/// Polls `check` until it returns `Ok`, or panics with `what` and the last state.
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if started.elapsed() > Duration::from_secs(60) => {
                panic!("timed out waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// `GET path` with extra header lines; returns the status, the headers and the body.
pub fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[&str],
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
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
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, head.to_owned(), body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Starts `expvar export` for `urls` plus `extra` arguments; returns it and the address
/// it serves.
pub fn start_export(urls: &[String], extra: &[&str]) -> (ChildGuard, SocketAddr) {
    let mut child = expvar()
        .args(["export", "--listen", "127.0.0.1:0", "--timeout", "2"])
        .args(extra)
        .args(urls)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start expvar export");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let mut line = String::new();
    assert!(
        stdout.read_line(&mut line).unwrap() > 0,
        "expvar export ended"
    );
    let addr = line
        .trim()
        .strip_prefix("serving http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, addr)
}

/// Runs `promtool check metrics` on `text`; panics with its complaint.
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
