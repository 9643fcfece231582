//! What only the `expvar` program's tests need: the program itself. Everything the
//! workspace's tests share is in `expvar-test-support`, re-exported here.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

pub use expvar_test_support::*;

/// The `expvar` binary under test.
pub fn expvar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_expvar"))
}

/// Starts `expvar export` for `urls` plus `extra` arguments; returns it and the address
/// it serves.
pub fn start_export(urls: &[String], extra: &[&str]) -> (ChildGuard, SocketAddr) {
    let (guard, addr, _) = start_export_logged(urls, extra);
    (guard, addr)
}

/// What a child printed on stderr so far (each line also echoed to the test's stderr).
pub type Log = Arc<Mutex<String>>;

/// As [`start_export`], also returning what the bridge prints on stderr.
pub fn start_export_logged(urls: &[String], extra: &[&str]) -> (ChildGuard, SocketAddr, Log) {
    let mut command = expvar();
    command
        .args(["export", "--listen", "127.0.0.1:0", "--timeout", "2"])
        .args(extra)
        .args(urls);
    spawn_export(command)
}

/// Spawns an `expvar export` command; returns it, the address it serves and its stderr.
pub fn spawn_export(mut command: Command) -> (ChildGuard, SocketAddr, Log) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start expvar export");
    let log = collect_lines(child.stderr.take().unwrap());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let guard = ChildGuard(child);
    let mut line = String::new();
    assert!(
        stdout.read_line(&mut line).unwrap() > 0,
        "expvar export ended: {}",
        log.lock().unwrap()
    );
    let addr = line
        .trim()
        .strip_prefix("serving http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (guard, addr, log)
}

/// Collects the lines of `stream` as they come, echoing each to stderr.
pub fn collect_lines(stream: impl std::io::Read + Send + 'static) -> Log {
    let log = Log::default();
    let collected = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            let mut log = collected.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}
