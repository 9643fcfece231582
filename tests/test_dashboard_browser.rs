//! The live dashboard in a real browser: starts `examples/web.rs`, opens its dashboard in
//! headless Chromium (driven over the Chrome DevTools Protocol), lets it run, and checks
//! that the charts hold data whose latest values agree with `/debug/vars`, and that the
//! page raised no script error. Saves a screenshot as `target/dashboard-screenshot.png`
//! (and as `docs/dashboard.png` with `EXPVAR_UPDATE_SCREENSHOT=1`).
//!
//! Needs Debian's `chromium` package; without it the test says so and passes, unless
//! `EXPVAR_REQUIRE_E2E=1` (as in CI). `cargo test` builds the example first; with
//! `cargo test --test test_dashboard_browser` alone, `cargo build --example web` first.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::browser::{find_chromium, Browser, Page, STEP_TIMEOUT};
use support::{get, start_web_example, ObjectivesExample};

#[test]
fn dashboard_charts_agree_with_debug_vars() {
    let Some(chromium) = find_chromium() else {
        support::skip_or_fail("no chromium on PATH (apt-get install chromium)");
        return;
    };

    let (web, app, debug) = start_web_example("127.0.0.1:0");
    // Some traffic: found and missing users (a timed fallible function), and `/`.
    for id in 0..20 {
        get(app, &format!("/users/{id}"));
        get(app, "/");
    }
    let traffic = Traffic::start(app);

    let browser = Browser::launch(&chromium);
    let mut page = browser.open_page();
    let url = format!("http://{debug}/debug/dashboard");
    page.call("Page.navigate", json!({ "url": url }));
    page.wait_for_samples(0, STEP_TIMEOUT);
    // The shortest window, so the seconds of this test fill more of each chart.
    page.evaluate(
        "const w = document.getElementById('window'); w.value = '60'; \
         w.dispatchEvent(new Event('change')); true",
    );

    // Several seconds of live updates; for the README's picture, most of a minute.
    let samples = if update_screenshot() { 45 } else { 8 };
    let state = page.wait_for_samples(samples, Duration::from_secs(samples + 30));
    let charts = &state["charts"];
    for id in [
        "memory",
        "allocs",
        "objects",
        "threads",
        "cpu",
        "functions.web::get_user.calls",
        "functions.web::get_user.latency",
        "functions.requests_total.calls",
        "var:web.requests",
        "var:web.in_flight",
        "var:web.responses_by_status",
    ] {
        let points = charts[id]["points"].as_u64().unwrap_or(0);
        assert!(points >= 3, "chart {id:?} has {points} points: {state:#}");
    }
    let statuses = &charts["var:web.responses_by_status"]["series"];
    assert!(
        statuses["200"]["points"].as_u64().unwrap() >= 3,
        "{statuses}"
    );
    assert!(
        statuses["404"]["points"].as_u64().unwrap() >= 3,
        "{statuses}"
    );
    let requests_per_second = charts["var:web.requests"]["latest"].as_f64().unwrap();
    assert!(requests_per_second > 0.0, "traffic shows as a rate");
    let memory = &charts["memory"]["series"];
    for label in [
        "allocated",
        "in use",
        "free in heap",
        "released",
        "resident",
    ] {
        assert!(
            memory[label]["points"].as_u64().unwrap_or(0) >= 3,
            "memory {label}: {memory}"
        );
    }
    let in_use = memory["in use"]["latest"].as_f64().unwrap();
    let allocated = memory["allocated"]["latest"].as_f64().unwrap();
    assert!(allocated > 0.0 && in_use >= allocated, "{memory}");
    // The tokio runtime the example publishes, beside the OS threads.
    let tasks = &charts["threads"]["series"]["tokio alive tasks"];
    assert!(
        tasks["points"].as_u64().unwrap_or(0) >= 3,
        "{}",
        charts["threads"]
    );
    assert!(tasks["latest"].as_f64().is_some(), "{tasks}");
    // `#[counted(name = "requests_total")]` is one chart, under Functions.
    assert!(
        charts["var:requests_total"].is_null(),
        "{}",
        charts["var:requests_total"]
    );
    assert!(charts["cpu"]["timeTicks"].as_u64().unwrap() >= 3);

    save_screenshot(&mut page);

    // The filter shows only the charts whose name matches.
    let shown = page.evaluate(
        "const f = document.getElementById('filter'); f.value = 'GET_USER'; \
         f.dispatchEvent(new Event('input')); \
         [...document.querySelectorAll('.chart')].filter(c => !c.hidden).map(c => c.dataset.id)",
    );
    assert_eq!(
        shown,
        json!([
            "functions.web::get_user.calls",
            "functions.web::get_user.latency"
        ])
    );
    page.evaluate(
        "const f = document.getElementById('filter'); f.value = ''; \
         f.dispatchEvent(new Event('input')); true",
    );

    // Paused, samples keep arriving but the charts hold still.
    page.evaluate("document.getElementById('pause').click(); true");
    let paused = page.state();
    let paused_points = &paused["charts"]["var:web.requests"]["points"];
    let from = paused["samples"].as_u64().unwrap();
    let still = page.wait_for_samples(from + 2, STEP_TIMEOUT);
    assert_eq!(
        &still["charts"]["var:web.requests"]["points"],
        paused_points
    );
    assert_eq!(
        page.evaluate("document.getElementById('status').textContent"),
        "paused"
    );
    page.evaluate("document.getElementById('pause').click(); true");

    // Quiet the app, let three more samples arrive (the first may have been taken just
    // before the traffic stopped), then compare with /debug/vars.
    traffic.stop();
    let quiet_from = page.state()["samples"].as_u64().unwrap();
    let state = page.wait_for_samples(quiet_from + 3, STEP_TIMEOUT);
    let vars: Value = serde_json::from_str(&get(debug, "/debug/vars").body).unwrap();
    let charts = &state["charts"];
    let series = |chart: &str, label: &str| &charts[chart]["series"][label];

    // Counters: the raw total behind each rate chart equals the document's.
    for (chart, label, expected) in [
        ("var:web.requests", "requests", &vars["web"]["requests"]),
        (
            "var:web.responses_by_status",
            "200",
            &vars["web"]["responses_by_status"]["200"],
        ),
        (
            "functions.web::get_user.calls",
            "calls",
            &vars["functions"]["web::get_user"]["calls"],
        ),
        (
            "functions.web::get_user.calls",
            "errors",
            &vars["functions"]["web::get_user"]["errors"],
        ),
    ] {
        let shown = &series(chart, label)["raw"];
        assert_eq!(
            shown.as_f64(),
            expected.as_f64(),
            "{chart} {label}: {}",
            charts[chart]
        );
    }
    // The app is quiet, so its raw rate has dropped to zero (the smoothed one follows
    // over a few samples).
    assert_eq!(
        charts["var:web.requests"]["series"]["requests"]["rawRate"].as_f64(),
        Some(0.0)
    );
    // Gauges are charted as their value.
    assert_eq!(
        charts["var:web.in_flight"]["latest"].as_f64(),
        vars["web"]["in_flight"].as_f64()
    );
    // Latency quantiles, in seconds, as the document has them.
    let p99 = series("functions.web::get_user.latency", "p99")["latest"].as_f64();
    let expected_p99 = vars["functions"]["web::get_user"]["duration"]["p99"].as_f64();
    assert_eq!(p99, expected_p99);
    // Process figures move on their own: allow for one tick of movement.
    let threads = series("threads", "threads")["latest"].as_f64().unwrap();
    let expected_threads = vars["process"]["threads"].as_f64().unwrap();
    assert!(
        (threads - expected_threads).abs() <= 2.0,
        "threads: chart {threads}, /debug/vars {expected_threads}"
    );
    let resident = series("memory", "resident")["latest"].as_f64().unwrap();
    let expected_resident = vars["process"]["resident_memory_bytes"].as_f64().unwrap();
    assert!(
        (resident / expected_resident - 1.0).abs() < 0.25,
        "resident: chart {resident}, /debug/vars {expected_resident}"
    );

    // Hovering a chart shows the values under the mouse.
    let canvas = page.evaluate(
        "const r = document.querySelector('[data-id=\"var:web.requests\"] canvas') \
         .getBoundingClientRect(); [r.right - 10, r.top + r.height / 2]",
    );
    page.call(
        "Input.dispatchMouseEvent",
        json!({ "type": "mouseMoved", "x": canvas[0], "y": canvas[1] }),
    );
    let readout = page.evaluate(
        "const tip = document.getElementById('tip'); tip.hidden ? null : tip.textContent",
    );
    assert!(
        readout
            .as_str()
            .is_some_and(|text| text.contains("requests: ") && text.contains("(raw ")),
        "hover readout, the smoothed rate and the raw one: {readout}"
    );

    // No script error, as the page saw them and as the browser reported them.
    assert_eq!(state["errors"], json!([]), "errors the page caught");
    let reported = page.errors();
    assert!(
        reported.is_empty(),
        "errors Chromium reported: {reported:#?}"
    );

    // A restarted server is picked up without a reload.
    drop(web);
    page.wait_for_state("the page to notice the server is gone", |state| {
        state["connected"] == false
    });
    let before = page.state()["samples"].as_u64().unwrap();
    let (_web, _, restarted) = start_web_example(&debug.to_string());
    assert_eq!(restarted, debug);
    let state = page.wait_for_samples(before + 2, STEP_TIMEOUT);
    assert_eq!(state["connected"], true);
    assert_eq!(state["errors"], json!([]), "errors the page caught");
    // Connection refusals while the server was down are logged; script errors are not.
    let exceptions: Vec<Value> = page
        .errors()
        .into_iter()
        .filter(|event| event["method"] != "Log.entryAdded")
        .collect();
    assert!(exceptions.is_empty(), "{exceptions:#?}");
}

/// Objectives come first: an error-budget chart and a burn-rate chart per indicator,
/// with the page/ticket verdict, their figures those of `/debug/vars`.
#[test]
fn objectives_are_charted_at_the_top_with_their_verdict() {
    let Some(chromium) = find_chromium() else {
        support::skip_or_fail("no chromium on PATH (apt-get install chromium)");
        return;
    };
    // 1 h lasts 30 s and 6 h three minutes: the windows hold every call of the test.
    let mut example = ObjectivesExample::start(120.0);
    example.send("ok 1000");
    example.send("fail 1000");

    let browser = Browser::launch(&chromium);
    let mut page = browser.open_page();
    let url = format!("http://{}/debug/dashboard", example.addr);
    page.call("Page.navigate", json!({ "url": url }));
    let base = "objectives.checkout.slis.success";
    let state = page.wait_for_state("the burn-rate chart to page", |state| {
        state["charts"][format!("{base}.burn")]["verdict"] == "page"
    });
    let state = page.wait_for_samples(state["samples"].as_u64().unwrap() + 3, STEP_TIMEOUT);
    let headings = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)");
    assert_eq!(headings[0], "Objectives", "{headings}");
    let first = page.evaluate("document.querySelector('.chart').dataset.id");
    assert_eq!(first, format!("{base}.budget"));

    let vars: Value = serde_json::from_str(&get(example.addr, "/debug/vars").body).unwrap();
    let success = &vars["objectives"]["checkout"]["slis"]["success"];
    let charts = &state["charts"];
    let burn = &charts[format!("{base}.burn")];
    assert_eq!(burn["section"], "Objectives");
    // The 6 h window reaches back to the start: it holds every call, so it stands still.
    assert_eq!(
        burn["series"]["6h"]["latest"].as_f64(),
        success["burn_rate"]["6h"].as_f64(),
        "{burn}"
    );
    assert_eq!(
        success["burn_rate"]["6h"].as_f64(),
        Some(1000.0 / 3000.0 / 0.01)
    );
    let budget = &charts[format!("{base}.budget")];
    assert_eq!(
        budget["series"]["budget left"]["latest"].as_f64(),
        success["budget_remaining"]
            .as_f64()
            .map(|left| left * 100.0),
        "{budget}"
    );
    let badge = page.evaluate(&format!(
        "document.querySelector('[data-id=\"{base}.burn\"] .badge').textContent"
    ));
    assert_eq!(badge, "page");
    // The latency indicator: no call was slow.
    assert_eq!(
        charts["objectives.checkout.slis.latency.burn"]["verdict"],
        "ok"
    );
    assert_eq!(state["errors"], json!([]), "errors the page caught");
    assert!(page.errors().is_empty(), "{:#?}", page.errors());
    let target = target_dir().join("dashboard-objectives.png");
    std::fs::write(&target, page.screenshot()).unwrap();
    eprintln!("screenshot: {}", target.display());
}

/// The page acknowledges what it receives, so a write timeout shorter than the test
/// does not end its stream; when its acknowledgements are blocked, the server drops the
/// stream and the page opens a new one by itself and goes on charting.
#[test]
fn the_page_keeps_its_stream_by_acknowledging_and_reconnects_when_dropped() {
    let Some(chromium) = find_chromium() else {
        support::skip_or_fail("no chromium on PATH (apt-get install chromium)");
        return;
    };
    let timeout = Duration::from_secs(2);
    let registry = Arc::new(expvar::Registry::new());
    registry
        .publish("jobs", Arc::new(expvar::Counter::new()))
        .unwrap();
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(registry)
        .write_timeout(timeout)
        .max_dashboard_clients(1)
        .start()
        .unwrap();
    let browser = Browser::launch(&chromium);
    let mut page = browser.open_page();
    let url = format!("http://{}/debug/dashboard", server.local_addr());
    page.call("Page.navigate", json!({ "url": url }));
    let first = page.wait_for_samples(1, STEP_TIMEOUT);
    let stream = first["stream"].clone();
    assert!(stream.is_string(), "{first:#}");

    // Four timeouts later the page still reads the same stream.
    let started = Instant::now();
    thread::sleep(4 * timeout);
    let state = page.state();
    assert_eq!(state["stream"], stream, "{state:#}");
    assert_eq!(state["connected"], true);
    let samples = state["samples"].as_u64().unwrap();
    let expected = 4 * timeout.as_secs() - 2;
    assert!(
        samples >= first["samples"].as_u64().unwrap() + expected,
        "{samples} samples in {:?}",
        started.elapsed()
    );
    assert!(state["acks"].as_u64().unwrap() >= expected, "{state:#}");

    // Without acknowledgements the server drops the stream; the page opens another.
    page.call("Network.enable", json!({}));
    page.call(
        "Network.setBlockedURLs",
        json!({ "urls": ["*/events/ack*"] }),
    );
    let dropped = page.wait_for_state("a new stream", |state| {
        state["stream"].is_string() && state["stream"] != stream
    });
    page.call("Network.setBlockedURLs", json!({ "urls": [] }));
    let from = dropped["samples"].as_u64().unwrap();
    let state = page.wait_for_samples(from + 3, STEP_TIMEOUT);
    assert_eq!(state["connected"], true);
    assert!(
        state["schema"].is_number(),
        "the schema came again: {state:#}"
    );
    assert_eq!(state["errors"], json!([]), "errors the page caught");
    // And it keeps the new stream, acknowledging again.
    let reconnected = state["stream"].clone();
    thread::sleep(2 * timeout);
    let state = page.state();
    assert_eq!(state["stream"], reconnected, "{state:#}");
    assert_eq!(state["connected"], true);
    server.shutdown();
}

/// Keeps what the page shows now as `target/dashboard-screenshot.png`, and as the
/// README's `docs/dashboard.png` with `EXPVAR_UPDATE_SCREENSHOT=1`.
fn save_screenshot(page: &mut Page) {
    let screenshot = page.screenshot();
    let target = target_dir().join("dashboard-screenshot.png");
    std::fs::write(&target, &screenshot).unwrap();
    eprintln!("screenshot: {}", target.display());
    if update_screenshot() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png");
        std::fs::write(&docs, &screenshot).unwrap();
    }
}

fn update_screenshot() -> bool {
    std::env::var("EXPVAR_UPDATE_SCREENSHOT").as_deref() == Ok("1")
}

fn target_dir() -> PathBuf {
    // target/debug/deps/<test binary> -> target
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}

/// Requests to the app from a background thread, until stopped.
struct Traffic {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(app: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut id = 0u64;
            while !flag.load(Ordering::Relaxed) {
                get(app, &format!("/users/{id}"));
                if id % 3 == 0 {
                    get(app, "/");
                }
                id += 1;
                thread::sleep(Duration::from_millis(20));
            }
        });
        Traffic {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.halt();
    }
}
