//! `expvar get`: a whole document or one value, from our quickstart and from Go's
//! expvar; exit code 1 when the target is unreachable.

mod support;

use support::{expvar, free_port, go_expvar_binary, start_go, start_quickstart};

fn get(args: &[&str]) -> (i32, String, String) {
    let output = expvar()
        .arg("get")
        .args(args)
        .output()
        .expect("run expvar get");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn reads_documents_and_paths_from_our_example() {
    let (_quickstart, addr) = start_quickstart("127.0.0.1:0");
    let url = format!("http://{addr}");

    let (code, stdout, _) = get(&[&url]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("pretty JSON");
    assert!(doc["memstats"]["HeapAlloc"].is_u64(), "{stdout}");
    // Pretty: one field per line.
    assert!(stdout.lines().count() > 20, "{stdout}");

    let (code, stdout, _) = get(&[&addr.to_string(), "version"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, concat!(env!("CARGO_PKG_VERSION"), "\n"))
    );
    let (code, stdout, _) = get(&[&url, "process.pid"]);
    assert_eq!(code, 0);
    assert!(stdout.trim().parse::<u32>().is_ok(), "{stdout}");

    let (code, _, stderr) = get(&[&url, "no.such.path"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no value at \"no.such.path\""), "{stderr}");
}

#[test]
fn reads_go_expvar() {
    let Some(go) = go_expvar_binary() else {
        return;
    };
    let addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go, addr, 3);
    let (code, stdout, _) = get(&[&addr.to_string(), "api_stats"]);
    assert_eq!(code, 0);
    let stats: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(stats, serde_json::json!({"fail": 2, "success": 5}));
    assert_eq!(get(&[&addr.to_string(), "counter_00002"]).1, "2\n");
    assert_eq!(get(&[&addr.to_string(), "ratio"]).1, "0.25\n");
}

#[test]
fn unreachable_targets_exit_with_1() {
    let (code, stdout, stderr) = get(&[&format!("127.0.0.1:{}", free_port()), "--timeout", "2"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("expvar: http://127.0.0.1:"), "{stderr}");
}
