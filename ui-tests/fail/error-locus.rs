//! A type error inside an annotated function still points at the user's line.
#[expvar::counted]
#[expvar::timed]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.parse()?;
    let doubled: String = value * 2;
    Ok(doubled)
}

fn main() {
    let _ = parse("1");
}
