//! A terminal for tests of `expvar watch`: a tmux server of the test's own, with one
//! session whose screen, title and process the test reads.

use std::process::{Command, Output};

use crate::{external_program, wait_for};

/// A tmux server of one test, killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a `width`x`height` session named `watch` on a server of its
    /// own; `None` (skipped, or failed under `EXPVAR_REQUIRE_E2E=1`) without tmux. The
    /// pane stays after the command ends, to read what it printed.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Option<Tmux> {
        if !external_program("tmux", &["-V"], "tmux") {
            return None;
        }
        let tmux = Tmux {
            socket: format!("expvar-{name}-{}", std::process::id()),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let started = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            &height,
            "-s",
            "watch",
            command,
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        tmux.run(&["set-option", "-t", "watch", "remain-on-exit", "on"]);
        Some(tmux)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "watch"]).stdout)
            .into_owned()
    }

    /// A pane variable such as `pane_title`, `pane_pid` or `pane_dead`.
    pub fn pane(&self, variable: &str) -> String {
        let format = format!("#{{{variable}}}");
        let output = self.run(&["display-message", "-p", "-t", "watch", &format]);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Sends keys (tmux names: `q`, `Right`, `Down`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "watch"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The screen once `check` accepts it (see [`wait_for`]).
    pub fn wait_for_screen(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        wait_for(what, || {
            let screen = self.screen();
            if check(&screen) {
                Ok(screen)
            } else {
                Err(screen)
            }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
