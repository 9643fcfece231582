//! `expvar rules`: the rules for objectives stated on the command line, and for those a
//! running service declares, the same as the service's own `/debug/objectives/rules.yml`.

mod support;

use support::{expvar, get, ObjectivesExample};

fn rules(args: &[&str]) -> (i32, String, String) {
    let output = expvar()
        .arg("rules")
        .args(args)
        .output()
        .expect("run expvar rules");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rules_for_objectives_given_on_the_command_line() {
    let (code, stdout, stderr) = rules(&[
        "--objective",
        "checkout=99.9%",
        "--objective",
        "checkout=99% < 250ms",
        "--window",
        "7d",
        "--time-scale",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let specs = expvar_cli::rules::specs_from_flags(
        &["checkout=99.9%".into(), "checkout=99% < 250ms".into()],
        "7d",
    )
    .unwrap();
    assert_eq!(stdout, expvar::objectives::rules_yaml(&specs, 1.0));
    assert!(stdout.contains("sli: latency"));

    for (args, says) in [
        (&["--objective", "checkout=100%"][..], "less than 100%"),
        (&["--objective", "checkout"][..], "write NAME=OBJECTIVE"),
        (
            &["--objective", "a=99%", "--window", "7y"][..],
            "unknown window",
        ),
        (
            &["--objective", "a=99%", "--objective", "a=98%"][..],
            "has a success objective already",
        ),
        (
            &[][..],
            "name services to read objectives from, or give --objective",
        ),
    ] {
        let (code, _, stderr) = rules(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn rules_read_from_a_running_service_are_the_ones_it_serves() {
    let example = ObjectivesExample::start(60.0);
    let served = get(example.addr, "/debug/objectives/rules.yml");
    assert_eq!(served.status, 200);
    let url = format!("http://{}", example.addr);
    let (code, stdout, stderr) = rules(&[&url, "--time-scale", "60"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, served.body);
    assert!(stdout.contains("objective: \"checkout\""), "{stdout}");
    // The same service twice: its objectives once.
    let (code, twice, _) = rules(&[&url, &url, "--time-scale", "60"]);
    assert_eq!((code, twice), (0, stdout));
}
