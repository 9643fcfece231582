//! What the tests read and scrape: the workspace's examples and Go's own expvar (the
//! anchor beside the repository).

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{external_program, skip_or_fail, wait_for, wait_for_line, ChildGuard};

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The running test binary's `target/<profile>` directory.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// A scratch directory under `target/tmp` that outlives the test, for builds worth
/// keeping between test binaries (Go's expvar).
pub fn target_tmp(name: &str) -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("target/")
        .join("tmp")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A compiled example of the `expvar` package, built first if this test run did not
/// (a workspace run builds the examples before the tests; `-p expvar-cli` alone does not).
pub fn example_path(name: &str) -> PathBuf {
    let path = profile_dir().join("examples").join(name);
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

/// Starts `examples/web.rs` with its app on a free port and its debug endpoint on
/// `debug_addr`; returns the running example and both addresses it printed.
pub fn start_web_example(debug_addr: &str) -> (ChildGuard, SocketAddr, SocketAddr) {
    let mut child = Command::new(example_path("web"))
        .env("WEB_ADDR", "127.0.0.1:0")
        .env("EXPVAR_ADDR", debug_addr)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start examples/web");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let app = wait_for_line(&mut stdout, "app listening on http://");
    let debug = wait_for_line(&mut stdout, "debug listening on http://");
    // Keep reading: a closed pipe would fail the example's next print and end it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, app.parse().unwrap(), debug.parse().unwrap())
}

/// `examples/objectives.rs`, running: its debug address, and its standard input, which
/// takes `ok N` (N good calls) and `fail N` (N good and N failing, interleaved).
pub struct ObjectivesExample {
    pub addr: SocketAddr,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
    /// Declared last: the pipes close before the process is killed.
    _process: ChildGuard,
}

impl ObjectivesExample {
    /// Starts the example on a free port with `EXPVAR_OBJECTIVE_TIME_SCALE=time_scale`.
    pub fn start(time_scale: f64) -> ObjectivesExample {
        let mut child = Command::new(example_path("objectives"))
            .env("EXPVAR_ADDR", "127.0.0.1:0")
            .env("EXPVAR_OBJECTIVE_TIME_SCALE", time_scale.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start examples/objectives");
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let url = wait_for_line(&mut output, "serving http://");
        ObjectivesExample {
            addr: url.trim_end_matches("/debug/vars").parse().unwrap(),
            input,
            output,
            _process: ChildGuard(child),
        }
    }

    /// Sends `command` (`ok 100`, `fail 10`) and waits until the calls are made.
    pub fn send(&mut self, command: &str) {
        use std::io::Write as _;
        writeln!(self.input, "{command}").expect("write to the example");
        wait_for_line(&mut self.output, &format!("done {command}"));
    }
}

/// Starts the example `name` with `EXPVAR_ADDR=127.0.0.1:0`, waiting for the line it
/// prints once serving (`serving http://ADDR...`); returns it and the address.
pub fn start_example(name: &str) -> (ChildGuard, SocketAddr) {
    let mut child = Command::new(example_path(name))
        .env("EXPVAR_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start examples/{name}: {error}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let url = wait_for_line(&mut stdout, "serving http://");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = url.split('/').next().unwrap_or_default();
    (guard, addr.parse().unwrap())
}

/// Starts `examples/quickstart.rs` at `addr` (`127.0.0.1:0` for any port); returns it
/// and its address.
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

/// Go's expvar (`shared/anchors/go-expvar` beside the repository), built once per test
/// binary; `None` (with a skip, or a failure under `EXPVAR_REQUIRE_E2E=1`) when `go` or
/// the anchor is missing.
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
    let scratch = target_tmp(&format!("go-{}", std::process::id()));
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
        .env("GOCACHE", target_tmp("go-cache"))
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
        crate::try_get(addr, "/debug/vars", &[])
            .map(drop)
            .map_err(|error| error.to_string())
    });
    guard
}

/// What `go tool pprof -raw` prints for `profile`, written under `name` in a scratch
/// directory; `None` (skipped, or failed under `EXPVAR_REQUIRE_E2E=1`) without Go.
pub fn go_pprof_raw(profile: &[u8], name: &str) -> Option<String> {
    if !external_program("go", &["version"], "golang-go") {
        return None;
    }
    let scratch = target_tmp(name);
    let file = scratch.join("profile.pb");
    std::fs::write(&file, profile).unwrap();
    let output = Command::new("go")
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

/// What `tests/go/memstats_decode.go` prints after decoding the `memstats` served at
/// `url` (a `/debug/vars` URL) into Go's `runtime.MemStats` with unknown fields refused;
/// `counting` also checks the allocation counts. `None` (skipped, or failed under
/// `EXPVAR_REQUIRE_E2E=1`) without Go; panics if Go refuses the document.
pub fn go_decode_memstats(url: &str, counting: bool) -> Option<String> {
    if !external_program("go", &["version"], "golang-go") {
        return None;
    }
    let scratch = target_tmp("go-memstats");
    let program = repo_root().join("tests/go/memstats_decode.go");
    let mut command = Command::new("go");
    command.arg("run").arg(&program);
    if counting {
        command.arg("-counting");
    }
    let output = command
        .arg(url)
        // Standard library only; never reach for a module proxy or a newer toolchain.
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "off")
        .env("GOPATH", scratch.join("path"))
        .env("GOCACHE", scratch.join("cache"))
        .output()
        .expect("run go");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "go program failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    Some(stdout)
}
