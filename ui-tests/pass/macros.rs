//! Every macro on the items it accepts.
use expvar::{counted, timed, Counter, Expvar, Gauge, Map};

#[derive(Expvar, Default)]
#[expvar(name = "ui_stats")]
struct Stats {
    /// Help text.
    requests: Counter,
    #[expvar(label = "status")]
    by_status: Map<Counter>,
    #[expvar(rename = "level")]
    gauge: Gauge,
    #[expvar(skip)]
    _buffer: Vec<u8>,
}

#[derive(Expvar, Default)]
struct Unit;

#[counted]
fn plain() {}

#[timed(buckets = [0.00005, 0.0001, 0.001, 1])]
fn fast() {}

#[counted]
#[timed(buckets = [-1.0, 0, 2.5e-3])]
fn bounded() -> Option<u8> { None }

#[derive(Expvar, Default)]
struct Sizes {
    /// Response sizes in bytes.
    #[expvar(buckets = [64.0, 512.0])]
    response_bytes: expvar::Histogram,
    #[expvar(labels = ["method", "status"])]
    responses: Map<Map<Counter>>,
    #[expvar(native)]
    latency_seconds: expvar::Histogram,
    #[expvar(native, buckets = [0.01, 0.1])]
    upstream_seconds: expvar::Histogram,
}

#[timed(native)]
fn native() {}

#[counted]
#[timed(native, buckets = [0.001, 0.01])]
fn native_bounded() -> Result<(), ()> { Ok(()) }

static NATIVE_SIZES: expvar::Histogram =
    expvar::Histogram::native_with(expvar::vars::NativeOptions {
        bucket_factor: 1.05,
        ..expvar::vars::NativeOptions::DEFAULT
    })
    .with_classic(&[1024.0, 65536.0]);

/// Jobs taken from the queue.
#[expvar::publish]
static JOBS: Counter = Counter::new();

static BY_METHOD_AND_STATUS: Map<Map<Counter>> = Map::with_labels(&["method", "status"]);

#[counted]
#[timed(name = "ui_fetch")]
async fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

#[timed]
fn generic<T: Clone, const N: usize>(items: [T; N]) -> Option<T>
where
    T: Send,
{
    items.first().cloned()
}

struct Repo<'a>(&'a str);

#[timed]
impl<'a> Repo<'a> {
    const fn new(name: &'a str) -> Self {
        Repo(name)
    }

    fn name(&self) -> Option<&'a str> {
        Some(self.0)
    }

    #[expvar(skip)]
    fn skipped(&self) {}
}

trait Service {
    fn call(&self) -> Result<(), ()>;
}

#[counted]
impl Service for Repo<'_> {
    fn call(&self) -> Result<(), ()> {
        Ok(())
    }
}

#[expvar::publish]
static HITS: Counter = Counter::new();

fn main() {
    Stats::global().requests.inc();
    let _ = Unit::global();
    plain();
    drop(fetch(1));
    let _ = generic([1, 2]);
    let repo = Repo::new("a");
    let _ = repo.name();
    repo.skipped();
    let _ = repo.call();
    HITS.inc();
    expvar::publish("ui_hits_runtime", &HITS).unwrap();
    fast();
    let _ = bounded();
    Sizes::global().response_bytes.record(100.0);
    JOBS.inc();
    BY_METHOD_AND_STATUS.get_or_create("GET").inc("200");
    native();
    let _ = native_bounded();
    NATIVE_SIZES.record(1500.0);
    Sizes::global().latency_seconds.record(0.1);
    Sizes::global().upstream_seconds.record(0.1);
}
