//! Child processes, scratch directories, ports and waits; and how an end-to-end test
//! that lacks its external program says so.

use std::io::BufRead;
use std::net::TcpListener;
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

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(prefix: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reports why an end-to-end test cannot run: a printed skip on a developer's machine, a
/// failure when `EXPVAR_REQUIRE_E2E=1` (as `.ci/run` sets), so CI never skips silently.
pub fn skip_or_fail(reason: &str) {
    assert!(
        std::env::var("EXPVAR_REQUIRE_E2E").as_deref() != Ok("1"),
        "EXPVAR_REQUIRE_E2E=1 but {reason}"
    );
    eprintln!("skipping: {reason}");
}

/// Whether `program args...` runs (exits successfully). When it does not, the calling
/// test should return early: this prints why, or fails instead under
/// `EXPVAR_REQUIRE_E2E=1`.
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

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns `Ok`, or panics after 60 s with `what` and the last
/// state it reported.
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

/// Reads lines from `reader` until one starts with `prefix`; returns the rest of it.
pub fn wait_for_line(reader: &mut impl BufRead, prefix: &str) -> String {
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

/// The peak resident memory of process `pid` so far, in KiB (`VmHWM`; Linux only).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
