//! The HTTP endpoint: status codes, headers, auth, limits, mounting, shutdown.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use expvar::{Counter, ServerBuilder};
use support::{get, request, send_raw};

fn start() -> expvar::server::ServerHandle {
    ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("start")
}

#[test]
fn get_serves_the_document() {
    static SERVED: Counter = Counter::new();
    expvar::publish("test_server_served", &SERVED).unwrap();
    SERVED.add(41);
    let server = start();
    let response = get(server.local_addr(), "/debug/vars");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(json["test_server_served"], 41);
    server.shutdown();
}

#[test]
fn query_strings_and_accept_headers_are_ignored() {
    let server = start();
    let response = request(
        server.local_addr(),
        "GET",
        "/debug/vars?format=xml&x=1",
        &["Accept: text/html"],
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    serde_json::from_str::<serde_json::Value>(&response.body).unwrap();
}

#[test]
fn head_has_headers_and_no_body() {
    let server = start();
    let response = request(server.local_addr(), "HEAD", "/debug/vars", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(response.body, "");
}

#[test]
fn other_methods_get_405_with_allow() {
    let server = start();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let response = request(
            server.local_addr(),
            method,
            "/debug/vars",
            &["Content-Length: 0"],
        );
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
    }
}

#[test]
fn other_paths_get_404() {
    let server = start();
    for path in [
        "/",
        "/debug",
        "/debug/vars/",
        "/debug/varsx",
        "/x/debug/vars",
    ] {
        assert_eq!(get(server.local_addr(), path).status, 404, "{path}");
    }
}

#[test]
fn prefix_moves_the_endpoint() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .prefix("admin/")
        .start()
        .unwrap();
    assert_eq!(get(server.local_addr(), "/admin/debug/vars").status, 200);
    assert_eq!(get(server.local_addr(), "/debug/vars").status, 404);
}

#[test]
fn basic_auth() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .basic_auth("ops", "pa:ss")
        .start()
        .unwrap();
    let addr = server.local_addr();
    let missing = get(addr, "/debug/vars");
    assert_eq!(missing.status, 401);
    assert!(missing
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    // "ops:pa:ss" in base64.
    let good = request(
        addr,
        "GET",
        "/debug/vars",
        &["Authorization: Basic b3BzOnBhOnNz"],
    );
    assert_eq!(good.status, 200);
    let wrong = request(
        addr,
        "GET",
        "/debug/vars",
        &["Authorization: Basic b3BzOnBhOnNx"],
    );
    assert_eq!(wrong.status, 401);
    // Credentials are checked before the method, so 405 is not an oracle.
    assert_eq!(
        request(addr, "POST", "/debug/vars", &["Content-Length: 0"]).status,
        401
    );
    // 404 for unknown paths without revealing anything.
    assert_eq!(get(addr, "/nope").status, 404);
}

#[test]
fn bearer_token() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token("t0ken")
        .start()
        .unwrap();
    let addr = server.local_addr();
    let missing = get(addr, "/debug/vars");
    assert_eq!(missing.status, 401);
    assert!(missing
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(
        request(addr, "GET", "/debug/vars", &["Authorization: Bearer t0ken"]).status,
        200
    );
    assert_eq!(
        request(addr, "GET", "/debug/vars", &["Authorization: Bearer t0kem"]).status,
        401
    );
    assert_eq!(
        request(
            addr,
            "GET",
            "/debug/vars",
            &["Authorization: Bearer t0ken2"]
        )
        .status,
        401
    );
}

#[test]
fn bind_failure_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = ServerBuilder::new().addr(addr).start().unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(matches!(error, expvar::server::ServeError::Bind { .. }));
    let unresolvable = ServerBuilder::new()
        .addr("no-such-host.invalid:1")
        .start()
        .unwrap_err();
    assert!(unresolvable.to_string().contains("no-such-host.invalid:1"));
}

#[test]
fn shutdown_stops_listening() {
    let server = start();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/debug/vars").status, 200);
    server.shutdown();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn dropping_the_handle_stops_the_server() {
    let addr = start().local_addr();
    // The drop signals; the thread closes the listener shortly after.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        refused,
        "server still accepting after its handle was dropped"
    );
}

#[test]
fn a_client_that_trickles_headers_is_dropped() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .header_read_timeout(Duration::from_millis(300))
        .start()
        .unwrap();
    let mut slow = TcpStream::connect(server.local_addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET /debug/vars HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Never finish the headers: the server must close the connection on its own.
    let mut rest = Vec::new();
    if let Err(error) = slow.read_to_end(&mut rest) {
        // A reset is a close too; only our own read timeout means the server held on.
        assert!(
            !matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server kept a trickling connection open: {error}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "an unfinished request was answered"
    );
    // Meanwhile others are served.
    assert_eq!(get(server.local_addr(), "/debug/vars").status, 200);
}

#[test]
fn oversized_headers_are_refused() {
    let server = start();
    let huge = format!("X-Junk: {}", "a".repeat(64 * 1024));
    let mut raw = format!("GET /debug/vars HTTP/1.1\r\nHost: x\r\n{huge}\r\n\r\n").into_bytes();
    raw.extend_from_slice(b"");
    let response = send_raw(server.local_addr(), &raw);
    assert_eq!(response.status, 431);
}

#[test]
fn connections_beyond_the_cap_get_503_but_health() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .max_connections(1)
        .start()
        .unwrap();
    let addr = server.local_addr();
    // The first connection holds the only place, answering a request that never ends
    // (an idle one would be shed for the newcomer).
    let mut holder = TcpStream::connect(addr).unwrap();
    holder
        .write_all(b"GET /debug/dashboard/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    holder.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let refused = get(addr, "/debug/vars");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    // A load balancer must not take a busy server for a dead one.
    assert_eq!(get(addr, "/status/health").status, 200);
    drop(holder);
    let started = std::time::Instant::now();
    while get(addr, "/debug/vars").status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "place never freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_auth_scheme_is_case_insensitive_and_empty_credentials_are_refused() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token("t0ken")
        .start()
        .unwrap();
    let addr = server.local_addr();
    for header in ["Authorization: bearer t0ken", "Authorization: BEARER t0ken"] {
        assert_eq!(request(addr, "GET", "/debug/vars", &[header]).status, 200);
    }
    let empty_token = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token("")
        .start()
        .unwrap_err();
    assert!(
        empty_token.to_string().contains("bearer_token"),
        "{empty_token}"
    );
    let empty_password = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .basic_auth("ops", "")
        .start()
        .unwrap_err();
    assert!(
        empty_password.to_string().contains("basic_auth"),
        "{empty_password}"
    );
}

#[test]
fn several_authorization_headers_are_refused_whatever_they_hold() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token("t0ken")
        .start()
        .unwrap();
    let addr = server.local_addr();
    let mut raw = String::from("GET /debug/vars HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for guess in 0..96 {
        raw.push_str(&format!("Authorization: Bearer guess{guess}\r\n"));
    }
    raw.push_str("Authorization: Bearer t0ken\r\n\r\n");
    let response = send_raw(addr, raw.as_bytes());
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.body.contains("more than one Authorization header"));
    // One header, right: in. Health never asks.
    let one = request(addr, "GET", "/debug/vars", &["Authorization: Bearer t0ken"]);
    assert_eq!(one.status, 200);
    let blank = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token(" ")
        .start()
        .unwrap_err();
    assert!(blank.to_string().contains("bearer_token"), "{blank}");
}

#[test]
fn mountable_service_answers_like_the_server() {
    use hyper::service::Service as _;
    let service = ServerBuilder::new()
        .prefix("/ops")
        .bearer_token("k")
        .service();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let call = |request: hyper::Request<()>| runtime.block_on(service.call(request)).unwrap();
    let ok = call(
        hyper::Request::get("/ops/debug/vars")
            .header("authorization", "Bearer k")
            .body(())
            .unwrap(),
    );
    assert_eq!(ok.status(), 200);
    let denied = call(hyper::Request::get("/ops/debug/vars").body(()).unwrap());
    assert_eq!(denied.status(), 401);
    // A router that nests the service strips the mount point: the relative path is
    // served too, behind the same credentials.
    let relative = call(
        hyper::Request::get("/debug/vars")
            .header("authorization", "Bearer k")
            .body(())
            .unwrap(),
    );
    assert_eq!(relative.status(), 200);
    let denied = call(hyper::Request::get("/debug/vars").body(()).unwrap());
    assert_eq!(denied.status(), 401);
    let missing = call(
        hyper::Request::get("/ops/nope")
            .header("authorization", "Bearer k")
            .body(())
            .unwrap(),
    );
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "current_thread")]
async fn start_async_serves_inside_an_existing_runtime() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start_async()
        .await
        .unwrap();
    let addr = server.local_addr();
    let response = tokio::task::spawn_blocking(move || get(addr, "/debug/vars"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    server.shutdown_async().await;
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn a_reserved_constant_label_stops_the_server_from_starting() {
    let error = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .const_label("le", "x")
        .start()
        .unwrap_err();
    assert!(matches!(
        error,
        expvar::server::ServeError::InvalidOption {
            option: "const_label",
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "invalid option `const_label`: constant label `le` is refused: /metrics writes a label of that name itself"
    );
}

#[test]
fn constant_labels_that_would_remove_a_family_are_refused_or_renamed() {
    use std::sync::Arc;
    // `key`, every `Map::new()`'s label: refused, as it would remove all their families.
    let error = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .const_label("key", "x")
        .start()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("constant label `key` is refused"),
        "{error}"
    );

    // A published map's own label: refused at start, naming the label and the variable.
    let registry = Arc::new(expvar::Registry::new());
    let routes = Arc::new(expvar::Map::<Counter>::with_label("route"));
    routes.add("/a", 2);
    registry.publish("requests", Arc::clone(&routes)).unwrap();
    let error = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(Arc::clone(&registry))
        .const_label("route", "x")
        .start()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("`route`") && message.contains("\"requests\""),
        "{message}"
    );

    // Published later: the map keeps its family, its label written `exported_route`.
    let registry = Arc::new(expvar::Registry::new());
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(Arc::clone(&registry))
        .const_label("route", "x")
        .start()
        .unwrap();
    registry.publish("requests", routes).unwrap();
    let text = get(server.local_addr(), "/metrics").body;
    assert!(
        text.contains("requests_total{route=\"x\",exported_route=\"/a\"} 2\n"),
        "{text}"
    );
}

#[test]
fn serve_errors_print_their_own_message_and_the_cause_as_source() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = ServerBuilder::new().addr(addr).start().unwrap_err();
    assert_eq!(error.to_string(), format!("cannot listen on {addr}"));
    let cause = std::error::Error::source(&error).expect("the OS error");
    assert!(!cause.to_string().is_empty());
}
