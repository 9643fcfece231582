//! `/status/health` and `/status/hardware/*`: status codes, auth exemption, thresholds.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::time::Duration;

use expvar::{
    server::{Hardware, ServerHandle, Thresholds},
    ServerBuilder,
};
use support::{get, request};

fn start(builder: ServerBuilder) -> ServerHandle {
    builder.addr("127.0.0.1:0").start().unwrap()
}

/// The readiness checks are process-wide, so every health assertion is in this one test.
#[test]
fn health_is_ok_until_a_check_fails_and_needs_no_credentials() {
    let server = start(ServerBuilder::new().bearer_token("s3cret").prefix("/admin"));
    let addr = server.local_addr();

    let ok = get(addr, "/admin/status/health");
    assert_eq!((ok.status, ok.body.as_str()), (200, "OK"));
    assert_eq!(
        request(addr, "HEAD", "/admin/status/health", &["Content-Length: 0"]).status,
        200
    );
    assert_eq!(
        request(addr, "POST", "/admin/status/health", &["Content-Length: 0"]).status,
        405
    );
    assert_eq!(get(addr, "/status/health").status, 404);
    // The debug endpoints still need the token.
    assert_eq!(get(addr, "/admin/debug/vars").status, 401);
    assert_eq!(get(addr, "/admin/status/hardware/ram").status, 401);
    let authorized = &["Authorization: Bearer s3cret"];
    assert_eq!(
        request(addr, "GET", "/admin/status/hardware/ram", authorized).status,
        200
    );

    expvar::server::add_readiness_check(
        "test_health_db",
        || Err("database unreachable".to_owned()),
    );
    expvar::server::add_readiness_check("test_health_ok", || Ok(()));
    expvar::server::add_readiness_check("test_health_panics", || panic!("boom"));
    let failing = get(addr, "/admin/status/health");
    assert_eq!(failing.status, 503);
    assert_eq!(
        failing.body,
        "503 service unavailable\n\
         test_health_db: database unreachable\n\
         test_health_panics: the check panicked\n"
    );

    // Replacing a check by name, then removing the rest, makes it healthy again.
    expvar::server::add_readiness_check("test_health_db", || Ok(()));
    assert!(expvar::server::remove_readiness_check("test_health_panics"));
    assert_eq!(get(addr, "/admin/status/health").status, 200);
    server.shutdown();
}

fn hardware_status(thresholds: Thresholds) -> Vec<(u16, serde_json::Value)> {
    let builder = ServerBuilder::new()
        .hardware_thresholds(Hardware::Disk, thresholds)
        .hardware_thresholds(Hardware::Ram, thresholds)
        .hardware_thresholds(Hardware::Cpu, thresholds);
    let server = start(builder);
    let results = ["disk", "ram", "cpu"]
        .iter()
        .map(|resource| {
            let path = format!("/status/hardware/{resource}");
            let started = std::time::Instant::now();
            let mut response = get(server.local_addr(), &path);
            // CPU use is measured in the background: unknown (503, `Retry-After`) only
            // until its first measurement, and no request waits for it.
            while response.status == 503 && started.elapsed() < Duration::from_secs(30) {
                assert_eq!(response.header("retry-after"), Some("1"));
                std::thread::sleep(Duration::from_millis(200));
                response = get(server.local_addr(), &path);
            }
            let body = serde_json::from_str(&response.body).unwrap();
            (response.status, body)
        })
        .collect();
    server.shutdown();
    results
}

#[test]
fn hardware_below_warning_is_ok() {
    for (status, body) in hardware_status(Thresholds::new(f64::INFINITY, f64::INFINITY)) {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "OK");
        let percent = body["percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&percent), "{body}");
        assert!(body["used"].as_f64().unwrap() <= body["total"].as_f64().unwrap());
        assert!(body["total"].as_f64().unwrap() > 0.0, "{body}");
        assert!(body["warning"].is_null() && body["critical"].is_null());
    }
}

#[test]
fn hardware_from_warning_is_429() {
    for (status, body) in hardware_status(Thresholds::new(0.0, f64::INFINITY)) {
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["status"], "WARNING");
        assert_eq!(body["warning"], 0.0);
    }
}

#[test]
fn hardware_from_critical_is_500() {
    for (status, body) in hardware_status(Thresholds::new(0.0, 0.0)) {
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["status"], "CRITICAL");
    }
}

#[test]
fn hardware_defaults_and_unknown_resources() {
    let server = start(ServerBuilder::new().disk_path(env!("CARGO_MANIFEST_DIR")));
    let addr = server.local_addr();
    let disk = get(addr, "/status/hardware/disk");
    let body: serde_json::Value = serde_json::from_str(&disk.body).unwrap();
    assert_eq!(
        (body["warning"].as_f64(), body["critical"].as_f64()),
        (Some(90.0), Some(95.0))
    );
    assert!(env!("CARGO_MANIFEST_DIR").starts_with(body["mount_point"].as_str().unwrap()));
    let expected = match body["status"].as_str().unwrap() {
        "OK" => 200,
        "WARNING" => 429,
        _ => 500,
    };
    assert_eq!(disk.status, expected);
    assert_eq!(get(addr, "/status/hardware/gpu").status, 404);
    assert_eq!(get(addr, "/status/hardware").status, 404);
    server.shutdown();
}
