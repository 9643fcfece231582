//! `memstats` of a plain service: the system allocator, no `CountingAlloc`. Heap figures
//! come from the allocator's own statistics (glibc's `mallinfo2()` here), so holding and
//! freeing memory shows in the next scrape. Without the test harness, so no other test
//! allocates between two scrapes.

use expvar_test_support as support;

use std::hint::black_box;
use std::net::SocketAddr;

use serde_json::Value;

const MIB: u64 = 1 << 20;

fn scrape(addr: SocketAddr) -> Value {
    let response = support::get(addr, "/debug/vars");
    assert_eq!(response.status, 200);
    serde_json::from_str(&response.body).expect("JSON")
}

fn field(document: &Value, var: &str, name: &str) -> u64 {
    document[var][name]
        .as_u64()
        .unwrap_or_else(|| panic!("{var}.{name} in {}", document[var]))
}

/// What Go promises between the fields, for whichever source is in use.
fn assert_invariants(document: &Value) {
    let memstats = |name| field(document, "memstats", name);
    let (sys, heap_sys) = (memstats("Sys"), memstats("HeapSys"));
    let (inuse, alloc, idle) = (
        memstats("HeapInuse"),
        memstats("HeapAlloc"),
        memstats("HeapIdle"),
    );
    assert!(sys >= heap_sys, "Sys {sys} < HeapSys {heap_sys}");
    assert!(heap_sys >= inuse, "HeapSys {heap_sys} < HeapInuse {inuse}");
    assert!(inuse >= alloc, "HeapInuse {inuse} < HeapAlloc {alloc}");
    assert_eq!(heap_sys, inuse + idle, "HeapSys = HeapInuse + HeapIdle");
    assert!(memstats("HeapReleased") <= idle);
    assert_eq!(memstats("Alloc"), alloc);
    let total = memstats("TotalAlloc");
    assert!(
        total == 0 || total >= alloc,
        "TotalAlloc {total} < HeapAlloc {alloc}"
    );
    // One reading of the OS per document: the address space is the same figure.
    let virtual_size = field(document, "process", "virtual_memory_bytes");
    assert!(sys == virtual_size || sys == heap_sys + memstats("OtherSys"));
}

fn source(document: &Value) -> &str {
    document["process"]["memstats_source"].as_str().unwrap()
}

fn holding_128_mib_shows(addr: SocketAddr) {
    let before = scrape(addr);
    assert_invariants(&before);
    let block = black_box(vec![1u8; (128 * MIB) as usize]);
    let during = scrape(addr);
    assert_invariants(&during);
    let grown = field(&during, "memstats", "HeapAlloc") as i64
        - field(&before, "memstats", "HeapAlloc") as i64;
    drop(block);
    let after = scrape(addr);
    assert_invariants(&after);
    let shrunk = field(&during, "memstats", "HeapAlloc") as i64
        - field(&after, "memstats", "HeapAlloc") as i64;
    println!("holding 128 MiB: HeapAlloc +{grown}, after freeing it -{shrunk}");
    // Within a MiB either way: the server's own buffers come and go between scrapes.
    let expected = (128 * MIB) as i64;
    let near = expected - MIB as i64..expected + MIB as i64;
    assert!(near.contains(&grown), "{grown}");
    assert!(near.contains(&shrunk), "{shrunk}");
}

fn freeing_every_other_small_object_shows(addr: SocketAddr) {
    const OBJECTS: usize = 1_000_000;
    const SIZE: usize = 48;
    let mut objects: Vec<Option<Box<[u8; SIZE]>>> = (0..OBJECTS)
        .map(|n| Some(black_box(Box::new([n as u8; SIZE]))))
        .collect();
    let full = scrape(addr);
    for object in objects.iter_mut().step_by(2) {
        *object = None;
    }
    let halved = scrape(addr);
    assert_invariants(&halved);
    let dropped = field(&full, "memstats", "HeapAlloc") as i64
        - field(&halved, "memstats", "HeapAlloc") as i64;
    let freed = (OBJECTS / 2 * SIZE) as i64;
    println!(
        "freeing {} objects of {SIZE} B ({freed} B): HeapAlloc -{dropped}",
        OBJECTS / 2
    );
    // The allocator counts its block headers too: up to twice the requested bytes.
    assert!(
        dropped >= freed * 9 / 10 && dropped <= 2 * freed,
        "{dropped} vs {freed}"
    );
    drop(black_box(objects));
}

fn metrics_show_the_same_source(addr: SocketAddr) {
    let response = support::get(addr, "/metrics");
    assert_eq!(response.status, 200);
    let heap_alloc = response
        .body
        .lines()
        .find_map(|line| line.strip_prefix("memstats_heap_alloc_bytes "))
        .expect("memstats_heap_alloc_bytes");
    assert!(heap_alloc.parse::<f64>().unwrap() > 0.0);
}

type Test = fn(SocketAddr);

fn main() {
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let addr = server.local_addr();
    let document = scrape(addr);
    let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
    if !glibc {
        // No allocator statistics to test here: the resident set stands in, and says so.
        assert_invariants(&document);
        assert_eq!(source(&document), "resident");
        println!("test result: ok (resident-set source; nothing else to check)");
        return;
    }
    assert_eq!(source(&document), "glibc");
    let tests: [(&str, Test); 3] = [
        ("holding_128_mib_shows", holding_128_mib_shows),
        (
            "freeing_every_other_small_object_shows",
            freeing_every_other_small_object_shows,
        ),
        ("metrics_show_the_same_source", metrics_show_the_same_source),
    ];
    for (name, test) in tests {
        test(addr);
        println!("test {name} ... ok");
    }
    server.shutdown();
    println!("\ntest result: ok. {} passed; 0 failed", tests.len());
}
