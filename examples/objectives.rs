//! Objectives end to end: a checkout with a 99% success objective and a latency
//! objective, whose calls you make succeed or fail from standard input. Watch its burn
//! rates in `/debug/vars`, its health turn `degraded` and back, its rules for Prometheus.
//!
//! ```text
//! EXPVAR_OBJECTIVE_TIME_SCALE=60 cargo run --example objectives
//! ok 1000       # 1,000 calls that succeed
//! fail 100      # 200 calls, every other one failing
//! curl -s 127.0.0.1:6060/debug/vars | jq .objectives
//! curl -s 127.0.0.1:6060/status/health          # degraded: checkout: page: ...
//! curl -s 127.0.0.1:6060/debug/objectives/rules.yml
//! ```
//!
//! With the time scale at 60 an hour lasts a minute: the page alert's windows (1 h and
//! 5 m) are 60 s and 5 s, the ticket's (6 h and 30 m) 6 minutes and 30 s. Unset, the
//! windows are real. `EXPVAR_ADDR` changes the address (port 0 picks one, printed).

use std::io::BufRead;

use expvar::{counted, timed};

/// The card was declined.
#[derive(Debug)]
struct Declined;

/// One checkout: 99% of them must succeed, and 99% finish within 250 ms (a bucket bound
/// of the default buckets). The objective is named `checkout`.
#[counted(objective = "99%", objective_name = "checkout")]
#[timed(objective = "99% < 250ms")]
fn checkout(declined: bool) -> Result<(), Declined> {
    if declined {
        Err(Declined)
    } else {
        Ok(())
    }
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let server = match expvar::serve() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    println!("serving http://{}/debug/vars", server.local_addr());
    println!(
        "time scale {} (EXPVAR_OBJECTIVE_TIME_SCALE)",
        expvar::objectives::time_scale()
    );
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let (command, count) = (words.next(), words.next().and_then(|n| n.parse().ok()));
        match (command, count) {
            (Some("ok"), Some(count)) => (0..count).for_each(|_| drop(checkout(false))),
            // Interleaved, so a scrape in the middle sees the same ratio as after.
            (Some("fail"), Some(count)) => (0..count).for_each(|_| {
                drop(checkout(false));
                drop(checkout(true));
            }),
            _ => {
                println!("say `ok N` (N good calls) or `fail N` (N good and N failing)");
                continue;
            }
        }
        println!("done {line}");
    }
}
