use expvar::Expvar;

#[derive(Expvar, Default)]
struct Stats<V> {
    value: V,
}

fn main() {}
