//! A variable that never returns costs one render deadline, not one per scrape: after
//! the first deadline, scrapes and dashboard ticks leave it out at once; the warning is
//! logged once, however many scrapes ran into it together.
//!
//! One test: the logger is process-wide. Bounds are generous multiples of what the
//! deadline would cost per scrape; the figures are printed.

use expvar_test_support as support;

use std::time::{Duration, Instant};

use expvar::ServerBuilder;
use support::get;

#[test]
fn a_hung_variable_costs_one_deadline() {
    support::logs::capture("hung_variable_", log::LevelFilter::Info);
    expvar::publish_func("hung_variable_forever", || -> u64 {
        loop {
            std::thread::park();
        }
    })
    .unwrap();
    let deadline = Duration::from_secs(3);
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .render_deadline(deadline)
        .start()
        .unwrap();
    let addr = server.local_addr();

    // Sixteen scrapes at once run into the hung variable together.
    let started = Instant::now();
    let first: Vec<_> = (0..16)
        .map(|index| {
            let path = if index % 2 == 0 {
                "/debug/vars"
            } else {
                "/metrics"
            };
            std::thread::spawn(move || get(addr, path))
        })
        .collect();
    for scrape in first {
        let response = scrape.join().unwrap();
        assert_eq!(response.status, 200);
        assert!(!response.body.contains("hung_variable_forever\": 0"));
    }
    let first_round = started.elapsed();

    // Later scrapes do not wait for it again.
    let started = Instant::now();
    for _ in 0..10 {
        let vars = get(addr, "/debug/vars");
        assert!(
            vars.body.contains("\"hung_variable_forever\": null"),
            "{}",
            vars.body
        );
        assert!(!get(addr, "/metrics").body.contains("hung_variable_forever"));
    }
    let later = started.elapsed() / 20;

    // Dashboard ticks keep their cadence (one a second).
    let (head, mut events) = support::sse::open(addr, "/debug/dashboard/events", &[]);
    assert_eq!(head.status, 200);
    let started = Instant::now();
    let mut samples = 0;
    while started.elapsed() < Duration::from_secs(8) {
        let (name, _) = events.next();
        samples += usize::from(name == "sample");
    }
    eprintln!(
        "hung variable, deadline {deadline:?}: 16 concurrent scrapes in {first_round:?}, \
         then {later:?} a scrape; {samples} dashboard samples in 8 s"
    );
    // Each later scrape used to wait the whole deadline, and each tick too (two or three
    // samples in 8 s).
    assert!(later < deadline / 3, "{later:?} a scrape");
    assert!(samples >= 5, "{samples} samples in 8 s");

    let logged = support::logs::logged();
    let late: Vec<&String> = logged
        .iter()
        .filter(|line| line.contains("did not render"))
        .collect();
    assert_eq!(late.len(), 1, "{logged:#?}");
}
