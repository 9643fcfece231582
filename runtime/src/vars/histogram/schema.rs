//! Bucket keys of Prometheus's exponential schemas, the layout of native histograms.
//!
//! Schema `s` (from -4 to 8) splits every power of two into `2^s` buckets whose bounds
//! grow by the factor `2^(2^-s)`. Bucket `k` holds the values in
//! `(2^((k-1)/2^s), 2^(k/2^s)]`: bucket 0 ends at 1, a value on a bound belongs to the
//! bucket below it, and every bound of schema `s - 1` is a bound of schema `s`, so
//! halving the resolution merges buckets `2j - 1` and `2j` into bucket `j`.
//!
//! A key comes from the bits of the `f64`: its exponent, and a table lookup on the
//! first 9 bits of its mantissa with one comparison, made for schema 8 and shifted for
//! coarser ones. No logarithm, no search.
//!
//! The bounds `2^(j/256)` are computed at compile time in 62-bit fixed point (integer
//! square roots of 2, multiplied), then rounded to the 52 bits of an `f64` mantissa,
//! which puts each within an ulp of the real number; keys and reported bounds both use
//! this one table, so they always agree.

use std::sync::OnceLock;

/// The coarsest schema: 16 powers of two per bucket.
pub(crate) const MIN_SCHEMA: i32 = -4;
/// The finest schema: 256 buckets per power of two.
pub(crate) const MAX_SCHEMA: i32 = 8;
/// Buckets per power of two at the finest schema.
const STEPS: usize = 1 << MAX_SCHEMA;
/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u32 = 52;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
/// Cells the mantissa range is cut into for the lookup: each narrower than the
/// narrowest bucket of schema 8 (2^(1/256) - 1 ≈ 0.0027 of [1, 2)), so a cell meets
/// at most two buckets.
const CELL_BITS: u32 = 9;

/// `2^(j/256)`, j = 0..=256, as the 52-bit mantissa of an `f64` in `[1, 2]`
/// (`2^52` for j = 256: the next power of two).
static FRACTIONS: [u64; STEPS + 1] = fractions();
/// For each cell of the mantissa range: the first `j` whose bound is at or above the
/// cell's start, and that bound, so a key takes one table load.
static CELLS: [Cell; 1 << CELL_BITS] = cells();

#[derive(Clone, Copy)]
struct Cell {
    step: u64,
    bound: u64,
}

/// One in fixed point with 62 fractional bits.
const ONE: u128 = 1 << 62;

const fn fractions() -> [u64; STEPS + 1] {
    // roots[i] = 2^(1/2^i), i = 0..=8.
    let mut roots = [0u128; MAX_SCHEMA as usize + 1];
    roots[0] = 2 * ONE;
    let mut i = 1;
    while i < roots.len() {
        roots[i] = (roots[i - 1] << 62).isqrt();
        i += 1;
    }
    let mut out = [0u64; STEPS + 1];
    let mut j = 0;
    while j <= STEPS {
        // 2^(j/256) is the product of 2^(2^b/256) = roots[8 - b] over the set bits b of j.
        let mut x = ONE;
        let mut bit = 0;
        while bit <= MAX_SCHEMA as usize {
            if (j >> bit) & 1 == 1 {
                x = (x * roots[MAX_SCHEMA as usize - bit]) >> 62;
            }
            bit += 1;
        }
        // Round the 62 fractional bits to 52.
        out[j] = ((x - ONE + (1 << 9)) >> 10) as u64;
        j += 1;
    }
    out
}

const fn cells() -> [Cell; 1 << CELL_BITS] {
    let fractions = fractions();
    let mut out = [Cell { step: 0, bound: 0 }; 1 << CELL_BITS];
    let mut cell = 0;
    let mut j = 0;
    while cell < out.len() {
        let start = (cell as u64) << (MANTISSA_BITS - CELL_BITS);
        while fractions[j] < start {
            j += 1;
        }
        out[cell] = Cell {
            step: j as u64,
            bound: fractions[j],
        };
        cell += 1;
    }
    out
}

/// Where a step sits in an entry of a [`steps`] table, above its bound.
const STEP_SHIFT: u32 = MANTISSA_BITS + 1;

/// For schema `s` from 1 to 8, per cell of the mantissa range (its first 9 bits): the
/// first `j` whose bound `2^(j/2^s)` is at or above the cell's start, above the 53
/// bits of that bound's mantissa (2^52 for 2). The bucket of a mantissa `m` in the power of two is
/// then `j + (m > bound)`: one load, one comparison. Made on first use (4 KiB each).
pub(crate) fn steps(schema: i32) -> &'static [u64; 1 << CELL_BITS] {
    static TABLES: [OnceLock<Box<[u64; 1 << CELL_BITS]>>; MAX_SCHEMA as usize + 1] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize + 1];
    let schema = schema.clamp(1, MAX_SCHEMA);
    TABLES[schema as usize].get_or_init(|| {
        let stride = 1 << (MAX_SCHEMA - schema);
        let mut table = Box::new([0u64; 1 << CELL_BITS]);
        let mut j = 0;
        for (cell, entry) in table.iter_mut().enumerate() {
            let start = (cell as u64) << (MANTISSA_BITS - CELL_BITS);
            while FRACTIONS[j * stride] < start {
                j += 1;
            }
            // The bound takes 53 bits: 2^52 stands for the next power of two.
            *entry = (j as u64) << STEP_SHIFT | FRACTIONS[j * stride];
        }
        table
    })
}

/// Which bucket of its power of two (from 0 to `2^schema`) a mantissa is in, with a
/// table from [`steps`].
#[inline]
pub(crate) fn step(mantissa: u64, steps: &[u64; 1 << CELL_BITS]) -> u64 {
    let cell = steps[(mantissa >> (MANTISSA_BITS - CELL_BITS)) as usize];
    // Added rather than branched on: values arrive in no order a predictor could learn.
    (cell >> STEP_SHIFT) + u64::from(mantissa > cell & ((1 << STEP_SHIFT) - 1))
}

/// The key of `value` at schema 8. `value` is positive and finite.
#[inline]
const fn finest_key(value: f64) -> i32 {
    let bits = value.to_bits();
    if bits >> MANTISSA_BITS == 0 {
        return subnormal_key(value);
    }
    let exponent = (bits >> MANTISSA_BITS) as i32 - 1023;
    let mantissa = bits & MANTISSA_MASK;
    let cell = CELLS[(mantissa >> (MANTISSA_BITS - CELL_BITS)) as usize];
    // The cell is narrower than a bucket: the value is in this bucket or the next.
    // Added rather than branched on: values arrive in no order a predictor could learn.
    let step = cell.step + (mantissa > cell.bound) as u64;
    exponent * STEPS as i32 + step as i32
}

/// [`finest_key`] of a subnormal value: scaled into the normal range first.
#[cold]
const fn subnormal_key(value: f64) -> i32 {
    finest_key(value * 18_446_744_073_709_551_616.0) - 64 * STEPS as i32
}

/// The key of the bucket holding `value` (positive, finite) at `schema`.
#[inline]
pub(crate) const fn key(value: f64, schema: i32) -> i32 {
    coarser(finest_key(value), MAX_SCHEMA - schema)
}

/// A key `halvings` schemas coarser: `ceil(key / 2^halvings)`.
#[inline]
pub(crate) const fn coarser(key: i32, halvings: i32) -> i32 {
    (key + (1 << halvings) - 1) >> halvings
}

/// The upper bound of bucket `key` at `schema` (its lower bound is that of `key - 1`).
pub(crate) fn upper_bound(key: i32, schema: i32) -> f64 {
    let finest = i64::from(key) << (MAX_SCHEMA - schema);
    let exponent = finest.div_euclid(STEPS as i64);
    let step = finest.rem_euclid(STEPS as i64) as usize;
    let fraction = FRACTIONS[step];
    if exponent > 1023 {
        return f64::INFINITY;
    }
    // Below the normal range: build the bound 64 powers of two higher, then scale.
    let (exponent, scale) = if exponent < -1022 {
        (exponent + 64, 2f64.powi(-64))
    } else {
        (exponent, 1.0)
    };
    if exponent < -1022 {
        return 0.0;
    }
    f64::from_bits(((exponent + 1023) as u64) << MANTISSA_BITS | fraction) * scale
}

/// The factor between consecutive bounds of `schema`: `2^(2^-schema)`.
pub(crate) const fn growth(schema: i32) -> f64 {
    if schema > 0 {
        f64::from_bits(1023 << MANTISSA_BITS | FRACTIONS[STEPS >> schema])
    } else {
        f64::from_bits(((1023 + (1 << -schema)) as u64) << MANTISSA_BITS)
    }
}

/// The schema of bucket factor `factor` (> 1): the coarsest whose growth factor does not
/// exceed it, as client_golang picks; schema 8 below `2^(1/256)`, -4 above 65536.
pub(crate) const fn for_factor(factor: f64) -> i32 {
    let mut schema = MIN_SCHEMA;
    while schema < MAX_SCHEMA && growth(schema) > factor {
        schema += 1;
    }
    schema
}

/// The largest relative error of a value estimated from its bucket at `schema`: the
/// estimate `2ab/(a+b)` of a bucket `(a, b]` is within `(γ-1)/(γ+1)` of every value in
/// it, `γ` being the growth factor.
pub(crate) const fn relative_error(schema: i32) -> f64 {
    let growth = growth(schema);
    (growth - 1.0) / (growth + 1.0)
}

/// The estimate of a value in bucket `key` at `schema` with the least worst-case
/// relative error: `2ab/(a+b)` for the bucket `(a, b]`.
pub(crate) fn estimate(key: i32, schema: i32) -> f64 {
    let upper = upper_bound(key, schema);
    let lower = upper_bound(key - 1, schema);
    if upper.is_infinite() {
        return lower;
    }
    // 2ab/(a+b), without forming ab (which underflows for tiny buckets).
    lower * 2.0 / (1.0 + lower / upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_two_to_the_j_over_256() {
        assert_eq!(FRACTIONS[0], 0);
        assert_eq!(FRACTIONS[STEPS], 1 << MANTISSA_BITS);
        assert_eq!(FRACTIONS[128], (2f64.sqrt().to_bits() & MANTISSA_MASK));
        for (j, &fraction) in FRACTIONS.iter().enumerate() {
            let exact = (j as f64 / STEPS as f64).exp2();
            let ours = f64::from_bits(1023 << MANTISSA_BITS) + fraction as f64 / 2f64.powi(52);
            let ulps = (exact.to_bits() as i64 - ours.to_bits() as i64).abs();
            assert!(ulps <= 1, "2^({j}/256): {ours} vs {exact}");
        }
        assert!(FRACTIONS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn keys_follow_the_prometheus_layout() {
        // Schema 0: bucket k ends at 2^k; bounds belong to the bucket below.
        for (value, key_0) in [
            (1.0, 0),
            (1.5, 1),
            (2.0, 1),
            (2.1, 2),
            (0.5, -1),
            (0.75, 0),
            (1024.0, 10),
        ] {
            assert_eq!(key(value, 0), key_0, "{value}");
        }
        // Schema 3 (8 per power of two), as client_golang's table puts them.
        assert_eq!(key(1.0, 3), 0);
        assert_eq!(key(1.05, 3), 1);
        assert_eq!(key(growth(3), 3), 1);
        assert_eq!(key(f64::from_bits(growth(3).to_bits() + 1), 3), 2);
        assert_eq!(key(2.0, 3), 8);
        assert_eq!(key(0.1, 3), -26);
        // Coarsest: 16 powers of two per bucket.
        assert_eq!(key(1.0, -4), 0);
        assert_eq!(key(1.5, -4), 1);
        assert_eq!(key(65536.0, -4), 1);
        assert_eq!(key(65537.0, -4), 2);
        assert_eq!(key(0.5, -4), 0);
        assert_eq!(key(2f64.powi(-16), -4), -1);
        // Subnormals and the largest values.
        assert_eq!(key(f64::from_bits(1), 0), -1074);
        assert_eq!(key(f64::MIN_POSITIVE, 0), -1022);
        assert_eq!(key(f64::MAX, 0), 1024);
    }

    #[test]
    fn every_value_is_inside_its_bucket_and_halving_merges_pairs() {
        let mut value = 1e-300;
        while value < 1e300 {
            for schema in MIN_SCHEMA..=MAX_SCHEMA {
                let k = key(value, schema);
                let (lower, upper) = (upper_bound(k - 1, schema), upper_bound(k, schema));
                assert!(lower < value && value <= upper, "{value} at {schema}: {k}");
                if schema > MIN_SCHEMA {
                    assert_eq!(coarser(k, 1), key(value, schema - 1), "{value}");
                }
                let error = (estimate(k, schema) - value).abs() / value;
                assert!(error <= relative_error(schema) * (1.0 + 1e-12), "{value}");
            }
            value *= 1.37;
        }
        // Bounds themselves land in the bucket they end.
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for k in -600..600 {
                let bound = upper_bound(k, schema);
                if bound.is_normal() {
                    assert_eq!(key(bound, schema), k, "{k} at {schema}");
                }
            }
        }
    }

    #[test]
    fn step_tables_agree_with_keys() {
        for schema in 1..=MAX_SCHEMA {
            let steps = steps(schema);
            let mut value = 1.0f64;
            while value < 2.0 {
                let mantissa = value.to_bits() & MANTISSA_MASK;
                let key = key(value, schema);
                assert_eq!(step(mantissa, steps) as i32, key, "{value} at {schema}");
                value = f64::from_bits(value.to_bits() + 0x1_0000_0003);
            }
            // The bounds themselves, and the float just above each.
            for j in 0..(1 << schema) {
                let bound = upper_bound(j, schema);
                let above = f64::from_bits(bound.to_bits() + 1);
                for value in [bound, above] {
                    let mantissa = value.to_bits() & MANTISSA_MASK;
                    if value < 2.0 {
                        assert_eq!(step(mantissa, steps) as i32, key(value, schema));
                    }
                }
            }
        }
    }

    #[test]
    fn schemas_from_bucket_factors() {
        assert_eq!(for_factor(1.1), 3);
        assert_eq!(for_factor(2.0), 0);
        assert_eq!(for_factor(1.999), 1);
        assert_eq!(for_factor(4.0), -1);
        assert_eq!(for_factor(1e9), -4);
        assert_eq!(for_factor(1.0001), 8);
        assert_eq!(for_factor(growth(5)), 5);
        assert_eq!(growth(3), 1.090_507_732_665_257_7);
        assert!((relative_error(3) - 0.043_292).abs() < 1e-5);
    }
}
