//! What only the `expvar` program's tests need: the program itself. Everything the
//! workspace's tests share is in `expvar-test-support`, re-exported here.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

pub use expvar_test_support::*;

/// The `expvar` binary under test.
pub fn expvar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_expvar"))
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
