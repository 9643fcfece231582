use expvar::Expvar;

#[derive(Expvar)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
