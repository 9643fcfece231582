//! Every variable type can initialize a `static` and be published from one.
use expvar::{Counter, Float, Func, Gauge, Histogram, Map, Str};

static COUNTER: Counter = Counter::new();
static GAUGE: Gauge = Gauge::new();
static FLOAT: Float = Float::new();
static STR: Str = Str::new();
static MAP: Map<Counter> = Map::with_label("result");
static HISTOGRAM: Histogram = Histogram::new();
static FUNC: Func<fn() -> u32> = Func::new(answer);

fn answer() -> u32 {
    42
}

fn main() {
    expvar::publish("counter", &COUNTER).unwrap();
    expvar::publish("gauge", &GAUGE).unwrap();
    expvar::publish("float", &FLOAT).unwrap();
    expvar::publish("str", &STR).unwrap();
    expvar::publish("map", &MAP).unwrap();
    expvar::publish("histogram", &HISTOGRAM).unwrap();
    expvar::publish("func", &FUNC).unwrap();
}
