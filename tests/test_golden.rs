//! The hostile document, rendered and served, against copies kept in `tests/golden/`:
//! a change to the encoders or the server that changes one byte of `/debug/vars` or
//! `/metrics` shows here.
//!
//! After an intended change of output, run with `EXPVAR_BLESS=1` to write the new
//! copies, and review their diff.

use expvar_test_support as support;

use std::path::PathBuf;
use std::sync::Arc;

use expvar::{prometheus::PrometheusFormat, ServerBuilder};
use http_body_util::BodyExt as _;
use support::hostile::{hostile_registry, options};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden copy `name`, or writes it under `EXPVAR_BLESS=1`.
fn check(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var("EXPVAR_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (EXPVAR_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden copy from line {}:\n--- golden\n{}\n--- now\n{}",
            line + 1,
            expected
                .lines()
                .skip(line)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            actual
                .lines()
                .skip(line)
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

#[test]
fn the_rendered_hostile_document_is_unchanged() {
    let registry = hostile_registry();
    check("vars.json", &registry.to_json());
    for (format, name) in [
        (PrometheusFormat::Text, "metrics.txt"),
        (PrometheusFormat::OpenMetrics, "metrics.openmetrics.txt"),
    ] {
        check(name, &registry.to_prometheus_with(&options(format)));
    }
}

#[test]
fn the_served_hostile_document_is_unchanged() {
    let service = ServerBuilder::new()
        .registry(Arc::new(hostile_registry()))
        .namespace("ns.x")
        .const_label("service", "a\"p\\i\nv2\0\u{2028}")
        .const_label("instance", "")
        .version("1.0\"")
        .service();
    let get = |path: &str, accept: &str| {
        let request = hyper::Request::get(path)
            .header("accept", accept)
            .body(())
            .unwrap();
        let response = service.respond(&request);
        assert_eq!(response.status(), 200, "{path}");
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    };
    check("served-vars.json", &get("/debug/vars", "*/*"));
    check("served-metrics.txt", &get("/metrics", "text/plain"));
    check(
        "served-metrics.openmetrics.txt",
        &get("/metrics", "application/openmetrics-text;version=1.0.0"),
    );
}
