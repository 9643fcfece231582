//! HTTPS: both pushers reach a receiver whose certificate comes from a CA made for the
//! test (`ca_file`), and refuse one from another CA with an error that says so.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use expvar::push::PushErrorKind;
use expvar::{Counter, Otlp, Registry, RemoteWrite};
use expvar_test_support::tls::{HttpsServer, TestCa};

fn registry() -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    let jobs = Arc::new(Counter::new());
    jobs.add(3);
    registry.publish("jobs", jobs).unwrap();
    registry
}

#[test]
fn pushes_go_over_https_to_a_trusted_receiver() {
    let ca = TestCa::new("expvar test CA");
    let server = HttpsServer::start(&ca, |_| (204, "text/plain", Vec::new()));
    let remote_write = RemoteWrite::new(&server.url("/api/v1/write"))
        .registry(registry())
        .ca_file(ca.ca_file())
        .bearer_token("s3cret")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    remote_write.flush().unwrap();
    let otlp = Otlp::new(&server.url("/v1/metrics"))
        .registry(registry())
        .ca_file(ca.ca_file())
        .header("x-tenant", "a")
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    otlp.flush().unwrap();
    let requests = server.requests();
    let write = requests
        .iter()
        .find(|request| request.path == "/api/v1/write")
        .unwrap();
    assert_eq!(write.method, "POST");
    assert_eq!(write.header("content-encoding"), Some("snappy"));
    assert_eq!(write.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(
        write.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert_eq!(write.header("authorization"), Some("Bearer s3cret"));
    assert!(write.header("user-agent").unwrap().starts_with("expvar/"));
    assert!(!write.body.is_empty());
    let metrics = requests
        .iter()
        .find(|request| request.path == "/v1/metrics")
        .unwrap();
    assert_eq!(
        metrics.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(metrics.header("x-tenant"), Some("a"));
    assert!(metrics.body.windows(4).any(|w| w == b"jobs"));
}

#[test]
fn a_receiver_from_another_ca_is_refused_with_a_clear_error() {
    let ca = TestCa::new("expvar test CA");
    let other = TestCa::new("some other CA");
    let server = HttpsServer::start(&ca, |_| (204, "text/plain", Vec::new()));
    for trusted in [Some(other.ca_file()), None] {
        let mut pusher = RemoteWrite::new(&server.url("/api/v1/write"))
            .registry(registry())
            .timeout(Duration::from_secs(5))
            .interval(Duration::from_secs(3600));
        if let Some(file) = &trusted {
            pusher = pusher.ca_file(file);
        }
        let pusher = pusher.start().unwrap();
        let error = pusher.flush().unwrap_err();
        assert_eq!(error.kind(), PushErrorKind::Tls, "{error}");
        assert!(error.is_retryable(), "kept in the queue");
        let said = format!("{error}: {}", error.source().unwrap());
        assert!(
            said.starts_with(&format!("TLS handshake with {} failed: ", server.addr)),
            "{said}"
        );
        assert!(said.contains("UnknownIssuer"), "{said}");
    }
    assert!(server.requests().is_empty());
}
