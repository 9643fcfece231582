//! Compile-pass and compile-fail cases for `expvar`, run with trybuild by
//! `tests/ui.rs`: `pass/` must compile, `fail/` must fail with the message in the
//! matching `.stderr` snapshot (`TRYBUILD=overwrite cargo test -p expvar-ui-tests`
//! regenerates the snapshots after a deliberate change).
