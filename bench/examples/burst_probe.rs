use expvar::{Counter, Map};
use std::hint::black_box;
use std::time::Instant;

fn med(map: &Map<Counter>) -> f64 {
    let mut t: Vec<f64> = (0..41)
        .map(|_| {
            let s = Instant::now();
            black_box(expvar::render_json(map));
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4
}

fn main() {
    let threads: usize = std::env::args().nth(1).map_or(4096, |a| a.parse().unwrap());
    let wave: usize = std::env::args().nth(2).map_or(4096, |a| a.parse().unwrap());
    let burst: Map<Counter> = Map::with_limit(10_000);
    let control: Map<Counter> = Map::with_limit(10_000);
    for i in 0..10_000 {
        burst.add(&format!("c{i:05}"), 1);
        control.add(&format!("c{i:05}"), 1);
    }
    let handles: Vec<_> = (0..10_000)
        .map(|i| burst.get_or_create(&format!("c{i:05}")))
        .collect();
    println!(
        "before: burst {:.1} us control {:.1} us rss {} KiB",
        med(&burst),
        med(&control),
        rss()
    );
    let t = Instant::now();
    for start in (0..threads).step_by(wave) {
        let barrier = std::sync::Barrier::new(wave.min(threads - start));
        std::thread::scope(|s| {
            for _ in start..(start + wave).min(threads) {
                let (handles, barrier) = (&handles, &barrier);
                std::thread::Builder::new()
                    .stack_size(64 * 1024)
                    .spawn_scoped(s, move || {
                        if std::env::var("NOCOUNT").is_err() {
                            for c in handles {
                                c.inc();
                            }
                        }
                        barrier.wait();
                    })
                    .unwrap();
            }
        });
    }
    println!("burst {:?} rss {} KiB", t.elapsed(), rss());
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..3 {
        println!(
            "after: burst {:.1} us control {:.1} us rss {} KiB",
            med(&burst),
            med(&control),
            rss()
        );
    }
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    unsafe { malloc_trim(0) };
    println!("after trim rss {} KiB", rss());
    let total: u64 = handles.iter().map(|c| c.get()).sum();
    println!("total {total} expected {}", 10_000 * (threads as u64 + 1));
}
