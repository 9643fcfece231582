//! The data-side attacks of issue 11, in process (no network): what a burst of
//! short-lived threads does to counter reads and memory, and what a flood of distinct
//! keys does to a `Map<Counter>`. Run by `scripts/attack-data` (release mode).
//!
//! Memory after a burst is compared with the same burst in a child process whose
//! threads count nothing: glibc keeps exited threads' stacks and arena memory cached
//! whatever the threads did, so that is the floor a counting burst is measured against.
//!
//! ```text
//! cargo run --release --example attack_data [-- --threads 4096 --keys 1000000]
//! ```

use std::fmt::Write;
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use expvar::{vars::OVERFLOW_KEY, Counter, Map};

const COUNTERS: usize = 10_000;

fn main() {
    let threads = arg("--threads").unwrap_or(4096);
    if std::env::args().any(|arg| arg == "--baseline-burst") {
        let rss = burst_without_counting(threads);
        println!("{rss}");
        return;
    }
    let keys = arg("--keys").unwrap_or(1_000_000);
    let mut ok = thread_burst(threads);
    ok &= hostile_keys(keys);
    if !ok {
        eprintln!("FAILED: see above");
        std::process::exit(1);
    }
}

fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|arg| arg == name)?;
    Some(args.get(at + 1)?.parse().expect("a number"))
}

/// 10,000 counters, read and rendered before and after `threads` threads, all alive at
/// once, each bumped one counter (two table chunks per thread) and exited.
fn thread_burst(threads: usize) -> bool {
    let counters: Map<Counter> = Map::with_limit(COUNTERS);
    for index in 0..COUNTERS {
        counters.add(&format!("counter_{index:05}"), 1);
    }
    let hot = counters.get_or_create("counter_00000");
    let rss_start = rss_kib();
    let get_before = time_get(&hot);
    let render_before = time_render(&counters);
    let rss_before = rss_kib();

    let barrier = Barrier::new(threads);
    let started = Instant::now();
    thread::scope(|scope| {
        for index in 0..threads {
            let (counters, barrier, hot) = (&counters, &barrier, &hot);
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(scope, move || {
                    hot.inc();
                    counters.inc(&format!("counter_{:05}", index * 7 % COUNTERS));
                    barrier.wait();
                })
                .expect("spawning a thread");
        }
    });
    let burst = started.elapsed();
    let rss_after = rss_kib();
    settle_threads();

    let get_after = time_get(&hot);
    let render_after = time_render(&counters);
    let total: u64 = counters.entries().iter().map(|(_, c)| c.get()).sum();
    let expected = (COUNTERS + 2 * threads) as u64;
    let hot_expected = 1 + threads as u64 + u64::from(threads > 0); // index 0 * 7 lands on it
    let exact = total == expected && hot.get() == hot_expected;
    let rss_trimmed = trimmed_rss_kib();
    let baseline = baseline_rss_kib(threads);
    let within = rss_trimmed as f64 <= 2.0 * baseline as f64;

    println!("== thread burst: {threads} threads alive at once, then exited ({burst:.0?})");
    println!(
        "Counter::get          before {:>9.1} ns   after {:>9.1} ns   ratio {:.2}",
        get_before,
        get_after,
        get_after / get_before
    );
    println!(
        "render 10k counters   before {:>9.1} us   after {:>9.1} us   ratio {:.2}",
        micros(render_before),
        micros(render_after),
        micros(render_after) / micros(render_before)
    );
    println!(
        "RSS                   before {:>9} KiB  after {:>9} KiB  ratio {:.2}  (at start {} KiB)",
        rss_before,
        rss_after,
        rss_after as f64 / rss_before as f64,
        rss_start
    );
    println!(
        "RSS after malloc_trim {:>9} KiB  ratio {:.2}  (threads settled; glibc keeps their stacks cached)",
        rss_trimmed,
        rss_trimmed as f64 / rss_before as f64
    );
    println!(
        "same burst, counting nothing (child process): {baseline} KiB after malloc_trim; \
         counting / not counting {:.2} ({})",
        rss_trimmed as f64 / baseline as f64,
        if within { "within 2x" } else { "OVER 2x" }
    );
    println!(
        "exact counts          sum {total} (expected {expected}), hot {} (expected {hot_expected}): {}",
        hot.get(),
        if exact { "ok" } else { "WRONG" }
    );
    exact && within
}

/// The same burst as [`thread_burst`] with threads that count nothing: RSS after it (and
/// after `malloc_trim`), in KiB, with the same counters alive beforehand.
fn burst_without_counting(threads: usize) -> u64 {
    let counters: Map<Counter> = Map::with_limit(COUNTERS);
    for index in 0..COUNTERS {
        counters.add(&format!("counter_{index:05}"), 1);
    }
    black_box(expvar::render_json(&counters));
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        for index in 0..threads {
            let barrier = &barrier;
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(scope, move || {
                    black_box(format!("counter_{:05}", index * 7 % COUNTERS));
                    barrier.wait();
                })
                .expect("spawning a thread");
        }
    });
    settle_threads();
    trimmed_rss_kib()
}

/// Runs [`burst_without_counting`] in a child process, so that neither burst warms the
/// other's caches.
fn baseline_rss_kib(threads: usize) -> u64 {
    let output = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--baseline-burst", "--threads", &threads.to_string()])
        .output()
        .expect("running the baseline burst");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the baseline prints its RSS")
}

/// Nanoseconds per `Counter::get`, the fastest of several rounds.
fn time_get(counter: &Counter) -> f64 {
    const READS: u32 = 200_000;
    (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..READS {
                black_box(black_box(counter).get());
            }
            started.elapsed().as_nanos() as f64 / f64::from(READS)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The median time of a JSON render of `counters`.
fn time_render(counters: &Map<Counter>) -> Duration {
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let started = Instant::now();
            black_box(expvar::render_json(counters));
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// `keys` distinct keys, as from outside input, into a `Map<Counter>` with the
/// default key limit.
fn hostile_keys(keys: usize) -> bool {
    let map: Map<Counter> = Map::new();
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut key = String::new();
    for index in 0..keys {
        key.clear();
        write!(key, "attacker-{index}").expect("writing to a String");
        map.inc(&key);
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib();
    let total: u64 = map.entries().iter().map(|(_, c)| c.get()).sum();
    let overflow = map.get(OVERFLOW_KEY).map_or(0, |c| c.get());
    let json_bytes = expvar::render_json(&map).len();
    let bounded = map.len() <= map.limit() + 1;
    let exact = total == keys as u64;
    println!(
        "== hostile keys: {keys} distinct keys into a Map<Counter> (limit {})",
        map.limit()
    );
    println!(
        "len {} ({}), overflow count {overflow}, JSON {json_bytes} bytes, {elapsed:.0?}",
        map.len(),
        if bounded { "bounded" } else { "UNBOUNDED" }
    );
    println!(
        "RSS before {rss_before} KiB  after {rss_after} KiB  growth {} KiB",
        rss_after.saturating_sub(rss_before)
    );
    println!(
        "sum {total} (expected {keys}): {}",
        if exact { "ok" } else { "WRONG" }
    );
    bounded && exact
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Resident set size in KiB (Linux, 4 KiB pages), or 0 where `/proc` is not there.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Lets the burst's threads finish exiting (a scoped thread is detached once its
/// closure returns) and glibc trim its cache of their stacks, which it does when the
/// next thread starts: both bursts are measured at the same point.
fn settle_threads() {
    thread::sleep(Duration::from_millis(200));
    thread::spawn(|| {}).join().expect("an empty thread");
}

/// RSS after asking glibc to give cached free memory back: glibc keeps the arenas of
/// exited threads, which is not memory the program still uses.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trimmed_rss_kib() -> u64 {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's `malloc_trim` only releases free memory.
    unsafe { malloc_trim(0) };
    rss_kib()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trimmed_rss_kib() -> u64 {
    rss_kib()
}
