//! Criterion benches of `expvar` against its peers; see `benches/` and BENCHMARKS.md.
//! The library is empty: the package exists so the peers' dependencies stay out of the
//! `expvar` package.
