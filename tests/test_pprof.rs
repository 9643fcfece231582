//! `/debug/pprof/profile` (feature `pprof`): parameter checks, one profile at a time,
//! a profile whose client left freeing the slot, and a profile that parses as pprof
//! protobuf (and, when `go` is installed, that `go tool pprof` reads).

use expvar_test_support as support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use support::get;

fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint too long");
}

/// Walks a protobuf message, checking it is well formed, and returns the strings of
/// field 6 (`Profile.string_table`).
fn string_table(bytes: &[u8]) -> Vec<String> {
    let mut strings = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at);
        match key & 7 {
            0 => {
                read_varint(bytes, &mut at);
            }
            1 => at += 8,
            2 => {
                let len = read_varint(bytes, &mut at) as usize;
                if key >> 3 == 6 {
                    strings.push(String::from_utf8(bytes[at..at + len].to_vec()).unwrap());
                }
                at += len;
            }
            5 => at += 4,
            wire => panic!("wire type {wire} at byte {at}"),
        }
    }
    assert_eq!(at, bytes.len(), "message ends inside a field");
    strings
}

fn go_pprof_reads(profile: &[u8]) {
    if let Some(stdout) = support::go_pprof_raw(profile, "pprof") {
        assert!(stdout.contains("PeriodType: cpu nanoseconds"), "{stdout}");
    }
}

static BURN: AtomicBool = AtomicBool::new(true);

#[test]
fn profile_endpoint() {
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = server.local_addr();

    for query in [
        "seconds=0",
        "seconds=abc",
        "seconds=301",
        "seconds=1&format=png",
    ] {
        let response = get(addr, &format!("/debug/pprof/profile?{query}"));
        assert_eq!(response.status, 400, "{query}");
        assert!(response.body.starts_with("bad "));
    }

    // Something to sample.
    let burner = std::thread::spawn(|| {
        let mut x = 0u64;
        while BURN.load(Relaxed) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    });

    // Two profiles asked for at once: one runs, the other is refused, whichever the
    // server sees first.
    let requests: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || get(addr, "/debug/pprof/profile?seconds=4")))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Other endpoints answer while a profile runs.
    assert_eq!(get(addr, "/debug/vars").status, 200);
    // A refusal leaves the running profile its slot: the next request is refused too
    // (it used to free the slot, and the one after got 500).
    for _ in 0..2 {
        assert_eq!(get(addr, "/debug/pprof/profile?seconds=1").status, 409);
    }
    let mut responses: Vec<support::Response> =
        requests.into_iter().map(|r| r.join().unwrap()).collect();
    responses.sort_by_key(|response| response.status);
    let statuses: Vec<u16> = responses.iter().map(|response| response.status).collect();
    assert_eq!(statuses, [200, 409]);
    let profile = responses.swap_remove(0);
    assert_eq!(
        profile.header("content-type"),
        Some("application/octet-stream")
    );
    let strings = string_table(&profile.bytes);
    assert!(strings.iter().any(|s| s == "cpu"), "{strings:?}");
    assert!(strings.iter().any(|s| s == "nanoseconds"), "{strings:?}");
    go_pprof_reads(&profile.bytes);

    // A client that asks for 300 s and leaves frees the slot soon after, not in 300 s.
    let mut abandoned = std::net::TcpStream::connect(addr).unwrap();
    abandoned
        .write_all(b"GET /debug/pprof/profile?seconds=300 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(addr, "/debug/pprof/profile?seconds=1").status, 409);
    drop(abandoned);
    let left = std::time::Instant::now();
    support::wait_for("the abandoned profile's slot", || {
        match get(addr, "/debug/pprof/profile?seconds=1").status {
            200 => Ok(()),
            status => Err(status.to_string()),
        }
    });
    eprintln!("slot free {:?} after the client left", left.elapsed());

    let svg = get(addr, "/debug/pprof/profile?seconds=1&format=svg");
    assert_eq!(svg.status, 200);
    assert!(svg.body.contains("<svg"));

    BURN.store(false, Relaxed);
    burner.join().unwrap();

    // With nothing to sample, a flame graph is a valid SVG or a clear 204, never an
    // empty 200.
    let idle = get(addr, "/debug/pprof/profile?seconds=1&format=svg");
    match idle.status {
        204 => assert!(idle.bytes.is_empty()),
        200 => assert!(idle.body.contains("<svg")),
        status => panic!("idle flame graph: {status}"),
    }
    server.shutdown();
}
