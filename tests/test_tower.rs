//! The mountable service as a `tower::Service` (feature `tower`), as axum's
//! `nest_service` uses it.
#![cfg(feature = "tower")]

use std::task::{Context, Poll};

use tower_service::Service;

#[test]
fn tower_service_answers() {
    let mut service = expvar::service();
    let waker = std::task::Waker::noop();
    let ready = Service::<hyper::Request<String>>::poll_ready(
        &mut service,
        &mut Context::from_waker(waker),
    );
    assert!(matches!(ready, Poll::Ready(Ok(()))));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = hyper::Request::get("/debug/vars")
        .body(String::new())
        .unwrap();
    let response = runtime.block_on(service.call(request)).unwrap();
    assert_eq!(response.status(), 200);
    let request = hyper::Request::post("/debug/vars")
        .body(String::new())
        .unwrap();
    assert_eq!(
        runtime.block_on(service.call(request)).unwrap().status(),
        405
    );
}
