//! `expvar export --remote-write` and `--otlp`: a fleet's documents pushed through the
//! library's pushers, with no Prometheus scraping in between; and `https://` targets
//! read with `--ca-file`.

mod support;

use std::net::SocketAddr;
use std::process::Stdio;

use expvar_test_support::otlp::OtlpReceiver;
use expvar_test_support::tls::{HttpsServer, TestCa};
use support::prometheus::Prometheus;
use support::{expvar, free_port, go_expvar_binary, start_go, wait_for, ChildGuard};

#[test]
fn the_bridge_pushes_go_expvar_to_prometheus_remote_write() {
    if !Prometheus::available() {
        return;
    }
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let go_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 10);
    let prometheus = Prometheus::start("", &["--web.enable-remote-write-receiver"]);
    let _bridge = ChildGuard(
        expvar()
            .args(["export", "--interval", "1", "--label", "job=fleet"])
            .arg("--remote-write")
            .arg(format!("http://{}/api/v1/write", prometheus.addr))
            .arg(go_addr.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let expr = format!("go_memstats_heap_alloc_bytes{{job=\"fleet\",target=\"{go_addr}\"}}");
    let heap = wait_for(&expr, || prometheus.value_of(&expr));
    assert!(heap > 0.0, "{heap}");
    let up = format!("expvar_target_up{{job=\"fleet\",target=\"{go_addr}\"}}");
    wait_for(&up, || match prometheus.value_of(&up) {
        Ok(1.0) => Ok(()),
        other => Err(format!("{other:?}")),
    });
    // The pusher's own figures travel with the fleet's.
    wait_for("the pusher's figures", || {
        prometheus.value_of(r#"expvar_push_samples_total{job="fleet",protocol="remote_write"}"#)
    });
}

#[test]
fn the_bridge_pushes_otlp_and_serves_metrics_alongside() {
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let Some(receiver) = OtlpReceiver::start(&[]) else {
        return;
    };
    let go_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 10);
    let mut command = expvar();
    command
        .args(["export", "--listen", "127.0.0.1:0", "--interval", "1"])
        .args(["--otlp", &receiver.url()])
        .arg(go_addr.to_string());
    let (_bridge, bridge, _log) = support::spawn_export(command);
    let request = wait_for("an OTLP push with the Go target", || {
        receiver
            .requests()
            .into_iter()
            .find(|record| {
                record["request"]
                    .to_string()
                    .contains("go_memstats_heap_alloc_bytes")
            })
            .ok_or_else(|| "not yet".to_owned())
    });
    let text = request["request"].to_string();
    assert!(
        text.contains(&format!("\"{go_addr}\"")),
        "the target attribute: {text}"
    );
    assert!(text.contains("expvar-export"), "service.name: {text}");
    let metrics = support::get(bridge, "/metrics");
    assert!(
        metrics
            .body
            .contains("go_memstats_heap_alloc_bytes{target="),
        "{}",
        metrics.body
    );
}

#[test]
fn https_targets_are_read_with_the_ca_file_and_refused_without() {
    let ca = TestCa::new("expvar CLI test CA");
    let server = HttpsServer::start(&ca, |request| match request.path.as_str() {
        "/debug/vars" => (200, "application/json", br#"{"requests": 42}"#.to_vec()),
        _ => (404, "text/plain", b"404 page not found\n".to_vec()),
    });
    let url = server.url("/debug/vars");
    let output = expvar()
        .args(["get", &url, "requests", "--ca-file"])
        .arg(ca.ca_file())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "42");

    let output = expvar().args(["get", &url]).output().unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("TLS handshake failed") && said.contains("UnknownIssuer"),
        "{said}"
    );

    let output = expvar()
        .args(["get", &url, "--ca-file", "/no/such/ca.pem"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("/no/such/ca.pem"), "{said}");
}
