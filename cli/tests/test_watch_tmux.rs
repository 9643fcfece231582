//! `expvar watch` in a real 80x24 terminal (tmux): both targets side by side with the
//! chosen variables, pause, switching target, a killed target shown down, quit.
//!
//! Needs `tmux` (and `go` for the Go target); without them the test says why and
//! passes, unless `EXPVAR_REQUIRE_E2E=1`.

mod support;

use support::tmux::Tmux;
use support::{free_port, go_expvar_binary, start_go, start_quickstart, wait_for};

#[test]
fn watch_two_targets_in_80_by_24() {
    let Some(go_binary) = go_expvar_binary() else {
        return;
    };
    let go_addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _go = start_go(&go_binary, go_addr, 3);
    let (ours, ours_addr) = start_quickstart("127.0.0.1:0");

    let command = format!(
        "{} watch --interval 0.5 --vars requests,requests_total,memstats.HeapAlloc,counter_00002,api_*.* {ours_addr} {go_addr}",
        env!("CARGO_BIN_EXE_expvar")
    );
    let Some(tmux) = Tmux::start("watch-two", 80, 24, &command) else {
        return;
    };

    let screen = tmux.wait_for_screen("both targets with values", |screen| {
        screen.contains(&ours_addr.to_string())
            && screen.contains(&go_addr.to_string())
            && screen.contains("2/2 up")
            && screen.contains("MiB")
            && screen.contains("/s")
    });
    for expected in [
        "memstats.HeapAlloc",
        "requests",
        "counter_00002",
        "api_stats.success",
        "api_results.success",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
    assert_eq!(screen.lines().count(), 24, "{screen}");
    assert!(
        screen.lines().all(|line| line.chars().count() <= 80),
        "{screen}"
    );

    tmux.keys(&["p"]);
    tmux.wait_for_screen("pause", |screen| screen.contains("PAUSED"));
    tmux.keys(&["p"]);
    tmux.wait_for_screen("resume", |screen| !screen.contains("PAUSED"));

    // The detail line follows the chosen target and variable.
    tmux.keys(&["Right", "Down", "Down"]);
    tmux.wait_for_screen("the Go target's second variable in the detail", |screen| {
        screen.contains(&format!("{go_addr} counter_00002: 2"))
    });

    drop(ours);
    tmux.wait_for_screen("the killed target shown down", |screen| {
        screen.contains("DOWN") && screen.contains("1/2 up")
    });

    tmux.keys(&["q"]);
    wait_for("watch to quit", || match tmux.pane("pane_dead").as_str() {
        "1" => Ok(()),
        other => Err(other.to_owned()),
    });
}
