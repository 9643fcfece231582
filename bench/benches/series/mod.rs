//! The 10,000-series document the render and push benches share: 100 counter families
//! of 100 series each (`bench_family_NNN_total{key="kNNN"}`), the same names and values
//! in expvar and in each peer.
#![allow(dead_code)] // each bench uses its own subset

use std::sync::Arc;

use expvar::{Counter, Map};
use prometheus::{IntCounterVec, Opts};

pub const FAMILIES: usize = 100;
pub const SERIES_PER_FAMILY: usize = 100;
pub const SERIES: usize = FAMILIES * SERIES_PER_FAMILY;

pub fn family_name(family: usize) -> String {
    format!("bench_family_{family:03}")
}

pub fn key(series: usize) -> String {
    format!("k{series:03}")
}

pub fn value(family: usize, series: usize) -> u64 {
    (family * SERIES_PER_FAMILY + series) as u64
}

/// The document as expvar maps of counters, each with its name, to publish.
pub fn expvar_families() -> impl Iterator<Item = (String, Arc<Map<Counter>>)> {
    (0..FAMILIES).map(|family| {
        let map = Arc::new(Map::<Counter>::with_label("key"));
        for series in 0..SERIES_PER_FAMILY {
            map.add(&key(series), value(family, series));
        }
        (family_name(family), map)
    })
}

/// The document in the `prometheus` crate's registry.
pub fn prometheus_registry() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    for family in 0..FAMILIES {
        let name = format!("{}_total", family_name(family));
        let counters = IntCounterVec::new(Opts::new(name, "A bench family."), &["key"]).unwrap();
        for series in 0..SERIES_PER_FAMILY {
            counters
                .with_label_values(&[key(series).as_str()])
                .inc_by(value(family, series));
        }
        registry.register(Box::new(counters)).unwrap();
    }
    registry
}
