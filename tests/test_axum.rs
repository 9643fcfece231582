//! The mountable service in a real axum router (feature `tower`, on for the facade's
//! tests through its dev-dependencies), mounted as the README shows: at the root with
//! `fallback_service`, and under a path with `nest_service`.

use expvar_test_support as support;

use std::net::SocketAddr;

use support::get;

/// Serves `app` on a free loopback port from a thread of its own.
fn serve(app: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

#[test]
fn mounted_at_the_root_with_fallback_service() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .fallback_service(expvar::service());
    let addr = serve(app);
    assert_eq!(get(addr, "/").body, "app");
    let vars = get(addr, "/debug/vars");
    assert_eq!(vars.status, 200);
    assert!(vars.body.contains("\"memstats\""), "{}", vars.body);
    assert_eq!(get(addr, "/metrics").status, 200);
    assert_eq!(get(addr, "/debug/dashboard").status, 200);
    assert_eq!(get(addr, "/nope").status, 404);
}

#[test]
fn nested_under_a_path_serves_relative_to_it() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .nest_service("/ops", expvar::service())
        // A prefix equal to the mount point means the same place, not /admin/admin/...
        .nest_service(
            "/admin",
            expvar::ServerBuilder::new()
                .prefix("/admin")
                .basic_auth("ops", "secret")
                .service(),
        );
    let addr = serve(app);
    assert_eq!(get(addr, "/").body, "app");
    for path in ["/ops/debug/vars", "/ops/metrics", "/ops/debug/dashboard"] {
        assert_eq!(get(addr, path).status, 200, "{path}");
    }
    assert_eq!(get(addr, "/debug/vars").status, 404);
    assert_eq!(get(addr, "/ops/ops/debug/vars").status, 404);

    assert_eq!(get(addr, "/admin/debug/vars").status, 401);
    let authorized = support::request(
        addr,
        "GET",
        "/admin/debug/vars",
        &["Authorization: Basic b3BzOnNlY3JldA=="],
    );
    assert_eq!(authorized.status, 200);
    // The dashboard's stream is found relative to the page, so it is mounted too.
    let events = support::request(addr, "HEAD", "/ops/debug/dashboard/events", &[]);
    assert_eq!(events.status, 200);
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
}
