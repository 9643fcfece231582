//! `expvar::serve()` listens where `EXPVAR_ADDR` says. Its own test binary, because it
//! sets a process-wide environment variable.
#![cfg(feature = "server")]

use expvar_test_support as support;

#[test]
fn serve_uses_expvar_addr() {
    std::env::set_var(expvar::server::ADDR_ENV, "127.0.0.1:0");
    let server = expvar::serve().expect("serve");
    assert!(server.local_addr().ip().is_loopback());
    assert_ne!(server.local_addr().port(), 0);
    assert_eq!(support::get(server.local_addr(), "/debug/vars").status, 200);
}

#[test]
fn only_serve_and_from_env_read_the_environment() {
    std::env::set_var(expvar::server::ADDR_ENV, "127.0.0.1:0");
    let from_env = expvar::ServerBuilder::from_env().start().expect("from_env");
    assert_ne!(from_env.local_addr().port(), 0);
    // `new()` keeps the documented default whatever the environment says.
    let default = format!("{:?}", expvar::ServerBuilder::new());
    assert!(default.contains(expvar::server::DEFAULT_ADDR), "{default}");
}
