//! `expvar export` bridging Go's expvar and our quickstart example: every series carries
//! `target`, Go's memstats under Go's client names, ours under our own, both formats,
//! promtool-clean; a killed target is `up 0` without failing the scrape and `up 1`
//! again once restarted; a targets file is re-read when it changes.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::prometheus::promtool_check;
use support::{
    external_program, free_port, go_expvar_binary, start_export, start_go, start_quickstart,
    try_get, wait_for,
};

const OPENMETRICS: &str =
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

/// The bridge's `/metrics`: its `Content-Type` and body.
fn scrape(bridge: SocketAddr, headers: &[&str]) -> (String, String) {
    let response = try_get(bridge, "/metrics", headers).expect("scrape the bridge");
    assert_eq!(response.status, 200, "{response:?}");
    let content_type = response.header("content-type").unwrap_or("").to_owned();
    (content_type, response.body)
}

/// The value of the sample line `series` (name and labels exactly as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[test]
fn bridges_go_and_our_documents() {
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let go_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 5);
    let (_ours, ours_addr) = start_quickstart("127.0.0.1:0");
    let (_bridge, bridge) =
        start_export(&[go_addr.to_string(), format!("http://{ours_addr}")], &[]);

    let (head, text) = scrape(bridge, &[]);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let go = format!("{{target=\"{go_addr}\"}}");
    let ours = format!("{{target=\"{ours_addr}\"}}");
    for (series, expected) in [
        (format!("expvar_target_up{go}"), Some(1.0)),
        (format!("expvar_target_up{ours}"), Some(1.0)),
        (format!("counter_00004{go}"), Some(4.0)),
        (format!("ratio{go}"), Some(0.25)),
        (
            format!("api_stats{{target=\"{go_addr}\",key=\"fail\"}}"),
            Some(2.0),
        ),
    ] {
        assert_eq!(sample(&text, &series), expected, "{series} in\n{text}");
    }
    // Go's memstats under Go's client names, ours under the names our /metrics uses.
    for series in [
        format!("go_memstats_heap_alloc_bytes{go}"),
        format!("go_memstats_alloc_bytes_total{go}"),
        format!("go_memstats_sys_bytes{go}"),
        format!("go_memstats_heap_objects{go}"),
        format!("go_gc_duration_seconds_count{go}"),
        format!("memstats_heap_alloc_bytes{ours}"),
        format!("process_resident_memory_bytes{ours}"),
        format!("process_cpu_seconds_total{ours}"),
        format!("errors{ours}"),
        format!("requests_total{go}"),
        format!("latency_seconds_count{ours}"),
        format!("expvar_target_scrape_duration_seconds{go}"),
    ] {
        assert!(
            sample(&text, &series).is_some(),
            "{series} missing from\n{text}"
        );
    }
    assert!(
        text.contains("# TYPE go_memstats_alloc_bytes_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "version_info{{target=\"{go_addr}\",value=\"1.2.3\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        !text.contains(&format!("go_memstats_heap_alloc_bytes{ours}")),
        "{text}"
    );
    if external_program("promtool", &["--version"], "prometheus") {
        promtool_check(&text);
    }

    let (head, text) = scrape(bridge, &[OPENMETRICS]);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        sample(&text, &format!("expvar_target_up{go}")) == Some(1.0),
        "{text}"
    );
}

#[test]
fn a_killed_target_is_down_then_up_again() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let (quickstart, target) = start_quickstart(&addr);
    let unreachable = format!("127.0.0.1:{}", free_port());
    let (_bridge, bridge) = start_export(&[addr.clone(), unreachable.clone()], &[]);
    let up = |text: &str| sample(text, &format!("expvar_target_up{{target=\"{target}\"}}"));

    let (_, text) = scrape(bridge, &[]);
    assert_eq!(up(&text), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!("expvar_target_up{{target=\"{unreachable}\"}}")
        ),
        Some(0.0)
    );

    drop(quickstart);
    // A round of reads answers scrapes for a second (`--max-age`): the next is fresh.
    let text = wait_for("the killed target to be down", || {
        let (_, text) = scrape(bridge, &[]);
        if up(&text) == Some(0.0) {
            Ok(text)
        } else {
            std::thread::sleep(Duration::from_millis(200));
            Err(text)
        }
    });
    assert!(
        !text.contains(&format!("requests{{target=\"{target}\"}}")),
        "{text}"
    );

    let (_restarted, _) = start_quickstart(&addr);
    let text = wait_for("the restarted target to be up", || {
        let (_, text) = scrape(bridge, &[]);
        if up(&text) == Some(1.0) {
            Ok(text)
        } else {
            Err(text)
        }
    });
    assert!(
        sample(&text, &format!("requests{{target=\"{target}\"}}")).is_some(),
        "{text}"
    );
}

#[test]
fn targets_file_is_reread_when_it_changes() {
    let (_first, first) = start_quickstart("127.0.0.1:0");
    let (_second, second) = start_quickstart("127.0.0.1:0");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("targets.json");
    std::fs::write(
        &file,
        format!(r#"[{{"targets": ["{first}"], "labels": {{"env": "prod"}}}}]"#),
    )
    .unwrap();
    let (_bridge, bridge) = start_export(&[], &["--targets-file", file.to_str().unwrap()]);

    let (_, text) = scrape(bridge, &[]);
    assert!(
        text.contains(&format!("requests{{target=\"{first}\",env=\"prod\"}}")),
        "{text}"
    );
    assert!(!text.contains(&second.to_string()), "{text}");

    std::fs::write(
        &file,
        format!(r#"[{{"targets": ["{first}", "{second}"], "labels": {{"env": "prod"}}}}]"#),
    )
    .unwrap();
    let text = wait_for("the second target from the file", || {
        let (_, text) = scrape(bridge, &[]);
        if text.contains(&format!("expvar_target_up{{target=\"{second}\"}} 1")) {
            Ok(text)
        } else {
            std::thread::sleep(Duration::from_millis(200));
            Err(text)
        }
    });
    assert!(
        text.contains(&format!("expvar_target_up{{target=\"{first}\"}} 1")),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
