use expvar::{vars::NativeOptions, Histogram};

static NO_GROWTH: Histogram = Histogram::native_with(NativeOptions {
    bucket_factor: 1.0,
    ..NativeOptions::DEFAULT
});

fn main() {
    NO_GROWTH.record(1.0);
}
