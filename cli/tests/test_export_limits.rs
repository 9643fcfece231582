//! `expvar export` against hostile and huge targets, on loopback: documents over the
//! byte or value limit are refused and marked, never held whole (peak memory checked);
//! concurrent scrapes share one round of reads; two URLs on one `host:port` give unique
//! series; targets files that would lose series are refused, at start and on reload;
//! half-sent requests beyond the connection cap are shed while health and `/metrics`
//! still answer.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::exposition::{parse, Format};
use support::scripted::{long_document, many_keys, Answer, Scripted};
use support::{closed_by_peer, expvar, peak_rss_kib, spawn_export, try_get, wait_for, TempDir};

const OPENMETRICS: &str =
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

/// `expvar export` for `urls`, with a generous timeout: these tests are about limits.
fn export(urls: &[String], extra: &[&str]) -> (support::ChildGuard, SocketAddr, support::Log) {
    let mut command = expvar();
    command
        .args(["export", "--listen", "127.0.0.1:0", "--timeout", "30"])
        .args(extra)
        .args(urls);
    spawn_export(command)
}

fn scrape(bridge: SocketAddr, headers: &[&str]) -> String {
    let response = try_get(bridge, "/metrics", headers).expect("scrape the bridge");
    assert_eq!(response.status, 200, "{response:?}");
    response.body
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|candidate| candidate == line)
}

#[test]
fn documents_over_the_limits_are_refused_and_marked() {
    const FIFTY_MB: usize = 50 << 20;
    let long = Arc::new(long_document(FIFTY_MB));
    let keys = Arc::new(many_keys(60_000));
    let target = Scripted::start(Duration::ZERO, move |path| match path {
        "/announced" => Answer::Body(Arc::clone(&long)),
        "/chunked" => Answer::Chunked(Arc::clone(&long)),
        "/keys" => Answer::Body(Arc::clone(&keys)),
        _ => Answer::Body(Arc::new(br#"{"requests_total": 3}"#.to_vec())),
    });
    let url = |path: &str| format!("http://{}{path}", target.addr);
    let urls = [url("/announced"), url("/chunked"), url("/keys"), url("/ok")];
    let (bridge_process, bridge, _) = export(&urls, &[]);

    let started = Instant::now();
    let text = scrape(bridge, &[]);
    let took = started.elapsed();
    let peak = peak_rss_kib(bridge_process.0.id()).expect("VmHWM of the bridge");
    eprintln!(
        "scrape of two 50 MB documents, one of 60,000 values and a small one: {took:?}, \
         bridge peak RSS {} MiB",
        peak / 1024
    );
    for (path, limit) in [
        ("/announced", "bytes"),
        ("/chunked", "bytes"),
        ("/keys", "values"),
    ] {
        let target = url(path);
        assert!(
            has(&text, &format!("expvar_target_up{{target=\"{target}\"}} 0")),
            "{path}\n{text}"
        );
        assert!(
            has(
                &text,
                &format!("expvar_target_over_limit{{target=\"{target}\",limit=\"{limit}\"}} 1")
            ),
            "{path}\n{text}"
        );
    }
    let ok = url("/ok");
    assert!(
        has(&text, &format!("expvar_target_up{{target=\"{ok}\"}} 1")),
        "{text}"
    );
    assert!(
        has(&text, &format!("requests_total{{target=\"{ok}\"}} 3")),
        "{text}"
    );
    assert!(!text.contains("k0000001"), "{text}");
    // Before the limits one scrape of a 50 MB document took 1.4 GB; now at most the byte
    // limit (16 MiB) is read, twice over while it is gathered, and nothing is parsed.
    assert!(peak < 256 * 1024, "bridge peak RSS {peak} KiB");
}

#[test]
fn the_limits_are_flags() {
    let target = Scripted::start(Duration::ZERO, |_| {
        Answer::Body(Arc::new(br#"{"a": 1, "b": 2, "c": "three"}"#.to_vec()))
    });
    let url = format!("http://{}/vars", target.addr);
    let (_bridge, bridge, _) = export(std::slice::from_ref(&url), &["--max-values", "2"]);
    let text = scrape(bridge, &[]);
    assert!(
        has(
            &text,
            &format!(
                "expvar_target_over_limit{{target=\"{}\",limit=\"values\"}} 1",
                target.addr
            )
        ),
        "{text}"
    );
    let (_bridge, bridge, _) = export(&[url], &["--max-bytes", "16"]);
    let text = scrape(bridge, &[]);
    assert!(
        has(
            &text,
            &format!(
                "expvar_target_over_limit{{target=\"{}\",limit=\"bytes\"}} 1",
                target.addr
            )
        ),
        "{text}"
    );
}

#[test]
fn concurrent_scrapes_share_one_round_and_series_stay_unique() {
    let target = Scripted::start(Duration::from_millis(500), |path| match path {
        "/good" => Answer::Body(Arc::new(
            br#"{"requests_total": 1, "api": {"ok": 2}}"#.to_vec(),
        )),
        "/alt" => Answer::Body(Arc::new(
            br#"{"requests_total": 5, "api": {"ok": 6}}"#.to_vec(),
        )),
        _ => Answer::NotFound,
    });
    let urls = [
        format!("http://{}/good", target.addr),
        format!("http://{}/alt", target.addr),
    ];
    let (_bridge, bridge, _) = export(&urls, &[]);
    let scrapes: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                try_get(bridge, "/metrics", &[OPENMETRICS]).expect("scrape the bridge")
            })
        })
        .collect();
    let mut answered = 0;
    for scrape in scrapes {
        let response = scrape.join().unwrap();
        // Beyond the documents rendered at once (16), scrapes are refused at once.
        assert!(
            response.status == 200 || response.status == 503,
            "{response:?}"
        );
        if response.status == 200 {
            answered += 1;
            let families = parse(&response.body, Format::OpenMetrics)
                .unwrap_or_else(|error| panic!("{error}\n{}", response.body));
            let requests = families
                .iter()
                .find(|family| family.name == "requests")
                .expect("the requests family");
            for (url, value) in urls.iter().zip([1.0, 5.0]) {
                assert_eq!(
                    requests.value("requests_total", &[("target", url)]),
                    Some(value),
                    "{}",
                    response.body
                );
            }
        }
    }
    let reads = target.requests();
    eprintln!("50 concurrent scrapes: {answered} answered, {reads} reads of 2 targets");
    assert!(answered >= 1);
    // One round of reads (two requests) answers the scrapes that overlap it.
    assert!(
        reads <= 6,
        "{reads} reads of 2 targets for 50 concurrent scrapes"
    );
}

#[test]
fn targets_files_that_would_lose_series_are_refused() {
    let good = Scripted::start(Duration::ZERO, |_| {
        Answer::Body(Arc::new(br#"{"requests_total": 4}"#.to_vec()))
    });
    let dir = TempDir::new("expvar-export-targets");
    let file = dir.path().join("targets.json");
    let file_arg = file.to_str().unwrap();

    // At start: refused, naming the file and the group.
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"le": "1"}}}}]"#,
            good.addr
        ),
    )
    .unwrap();
    let refused = expvar()
        .args([
            "export",
            "--listen",
            "127.0.0.1:0",
            "--targets-file",
            file_arg,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("targets.json: group 1"), "{stderr}");
    assert!(stderr.contains("label `le`"), "{stderr}");

    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"env": "prod"}}}}]"#,
            good.addr
        ),
    )
    .unwrap();
    let (_bridge, bridge, log) = export(&[], &["--targets-file", file_arg, "--max-age", "0"]);
    let expected = format!("requests_total{{target=\"{}\",env=\"prod\"}} 4", good.addr);
    assert!(has(&scrape(bridge, &[]), &expected));

    // On reload: the previous targets stay, and the bridge says why.
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}", "10.0.0.1:1"], "labels": {{"a.b": "x", "a_b": "y"}}}}]"#,
            good.addr
        ),
    )
    .unwrap();
    wait_for("the refused file to be reported", || {
        let text = scrape(bridge, &[]);
        let log = log.lock().unwrap().clone();
        if log.contains("keeping the previous targets") {
            Ok(())
        } else {
            std::thread::sleep(Duration::from_millis(200));
            Err(format!("{log}\n{text}"))
        }
    });
    let log = log.lock().unwrap().clone();
    assert!(log.contains("group 1"), "{log}");
    let text = scrape(bridge, &[]);
    assert!(has(&text, &expected), "{text}");
    assert!(!text.contains("10.0.0.1:1"), "{text}");
}

/// A request cut off before its headers end: what a slowloris client leaves.
fn half_sent(addr: SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .ok()?;
    Some(stream)
}

#[test]
fn half_sent_requests_beyond_the_cap_are_shed() {
    let target = Scripted::start(Duration::ZERO, |_| {
        Answer::Body(Arc::new(br#"{"requests_total": 4}"#.to_vec()))
    });
    // 256 descriptors: the bridge caps itself at 128 connections.
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"ulimit -n 256 && exec "$0" export --listen 127.0.0.1:0 "$1""#,
        env!("CARGO_BIN_EXE_expvar"),
        &target.addr.to_string(),
    ]);
    let (_bridge, bridge, _) = spawn_export(command);
    let mut stalled: Vec<TcpStream> = (0..300).filter_map(|_| half_sent(bridge)).collect();
    assert!(stalled.len() >= 250, "{} connections made", stalled.len());

    let started = Instant::now();
    let health = try_get(bridge, "/status/health", &[]).expect("health");
    let health_took = started.elapsed();
    assert_eq!(health.status, 200, "{health:?}");
    let started = Instant::now();
    let text = scrape(bridge, &[]);
    eprintln!(
        "300 half-sent requests, 256 descriptors: health in {health_took:?}, /metrics in {:?}",
        started.elapsed()
    );
    assert!(
        has(
            &text,
            &format!("expvar_target_up{{target=\"{}\"}} 1", target.addr)
        ),
        "{text}"
    );
    // The oldest half-sent requests were closed by the bridge to make room.
    let shed = stalled
        .iter_mut()
        .map(|stream| closed_by_peer(stream, Duration::from_millis(50)))
        .filter(|closed| *closed)
        .count();
    eprintln!("half-sent requests shed: {shed} of {}", stalled.len());
    assert!(shed >= stalled.len() - 128, "{shed} shed");
}
