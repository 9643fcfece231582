//! `expvar watch` in tmux against targets that attack it, on loopback: a document of a
//! million keys is shown too large (bounded memory), names with escape sequences are
//! drawn inert (the terminal's title and screen stay ours), a target that never answers
//! changes nothing, and `q` quits at once whatever the targets do.
//!
//! Needs `tmux`; without it the test says why and passes, unless
//! `EXPVAR_REQUIRE_E2E=1`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::scripted::{many_keys, Answer, Scripted};
use support::tmux::Tmux;
use support::{peak_rss_kib, wait_for};

/// Whether process `pid` has ended (gone, or a zombie not yet reaped).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn hostile_targets_cannot_take_over_the_terminal() {
    let huge = Arc::new(many_keys(1_000_000));
    let hostile = Arc::new(
        serde_json::to_vec(&serde_json::json!({
            "\u{1b}]2;PWNED\u{7}title": 1,
            "\u{1b}[2J": 2,
            "\u{9b}31mred": 3,
            "abc\u{202e}cba": 4,
        }))
        .unwrap(),
    );
    let target = Scripted::start(Duration::ZERO, move |path| match path {
        "/huge" => Answer::Body(Arc::clone(&huge)),
        "/hostile" => Answer::Body(Arc::clone(&hostile)),
        _ => Answer::Hang,
    });
    let url = |path: &str| format!("http://{}{path}", target.addr);
    let command = format!(
        "exec {} watch --interval 2 {} {} {}",
        env!("CARGO_BIN_EXE_expvar"),
        url("/huge"),
        url("/hostile"),
        url("/hang"),
    );
    let Some(tmux) = Tmux::start("watch-hostile", 250, 30, &command) else {
        return;
    };
    let pid: u32 = tmux.pane("pane_pid").parse().expect("the pane's pid");

    let screen = tmux.wait_for_screen(
        "the huge target too large, the hostile one drawn",
        |screen| screen.contains("TOO LARGE: over 50000 values") && screen.contains("title"),
    );
    assert!(screen.contains("\u{FFFD}]2;PWNED\u{FFFD}title"), "{screen}");
    assert!(screen.contains("\u{FFFD}[2J"), "{screen}");
    assert!(screen.contains("abc\u{FFFD}cba"), "{screen}");
    assert!(screen.contains("expvar watch"), "{screen}");
    let title = tmux.pane("pane_title");
    assert!(
        !title.contains("PWNED"),
        "the terminal title was set: {title:?}"
    );

    // A few more rounds of the huge document: memory stays bounded.
    std::thread::sleep(Duration::from_secs(5));
    let peak = peak_rss_kib(pid).expect("VmHWM of watch");

    let asked = Instant::now();
    tmux.keys(&["q"]);
    wait_for("watch to quit", || {
        if ended(pid) {
            Ok(())
        } else {
            std::thread::sleep(Duration::from_millis(5));
            Err(tmux.screen())
        }
    });
    let quit = asked.elapsed();
    eprintln!(
        "watch with a million-key target, a hostile one and a hung one: peak RSS {} MiB, \
         quit {quit:?} after `q` (tmux's own latency included)",
        peak / 1024
    );
    // Was 3.2 GB; now the document is refused after counting 50,000 values.
    assert!(peak < 256 * 1024, "watch peak RSS {peak} KiB");
}
