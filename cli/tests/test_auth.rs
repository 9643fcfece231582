//! Targets behind Basic or bearer auth: the flags, credentials in the URL, and what a
//! wrong password does (the target is down, the scrape still answers).

mod support;

use support::{expvar, start_export, try_get};

fn get_status(args: &[&str]) -> (i32, String, String) {
    let output = expvar().arg("get").args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn basic_and_bearer_auth() {
    let basic = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .basic_auth("ops", "s3cret")
        .start()
        .unwrap();
    let bearer = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .bearer_token("t0ken")
        .start()
        .unwrap();
    let basic_addr = basic.local_addr().to_string();
    let bearer_addr = bearer.local_addr().to_string();

    let (code, _, stderr) = get_status(&[&basic_addr, "cmdline"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    let (code, stdout, _) = get_status(&["--basic-auth", "ops:s3cret", &basic_addr, "process.os"]);
    assert_eq!((code, stdout.trim()), (0, std::env::consts::OS));
    let in_url = format!("http://ops:s3cret@{basic_addr}/debug/vars");
    assert_eq!(get_status(&[&in_url, "process.os"]).0, 0);
    assert_eq!(
        get_status(&["--bearer-token", "t0ken", &bearer_addr, "process.os"]).0,
        0
    );
    assert_eq!(get_status(&["--bearer-token", "wrong", &bearer_addr]).0, 1);

    // Per target: the URL's credentials for one, the flag for the other.
    let (_bridge, bridge) = start_export(
        &[
            format!("http://ops:s3cret@{basic_addr}"),
            bearer_addr.clone(),
        ],
        &["--bearer-token", "t0ken"],
    );
    let response = try_get(bridge, "/metrics", &[]).unwrap();
    let (status, text) = (response.status, response.body);
    assert_eq!(status, 200);
    for addr in [&basic_addr, &bearer_addr] {
        assert!(
            text.contains(&format!("expvar_target_up{{target=\"{addr}\"}} 1\n")),
            "{text}"
        );
    }
    let (_bridge, bridge) = start_export(
        std::slice::from_ref(&basic_addr),
        &["--basic-auth", "ops:wrong"],
    );
    let response = try_get(bridge, "/metrics", &[]).unwrap();
    let (status, text) = (response.status, response.body);
    assert_eq!(status, 200);
    assert!(
        text.contains(&format!("expvar_target_up{{target=\"{basic_addr}\"}} 0\n")),
        "{text}"
    );
    basic.shutdown();
    bearer.shutdown();
}
