//! The `expvar` command line program: watch many services' `/debug/vars` in a
//! terminal (`expvar watch`), bridge them to Prometheus (`expvar export`), or read one
//! value (`expvar get`), or write Prometheus rules for their objectives (`expvar
//! rules`). Go's expvar documents and this project's read alike.
//!
//! The library holds the parts the binary, its tests and its benches share.

pub mod bridge;
pub mod document;
pub mod export;
pub mod fetch;
pub mod get;
pub mod limits;
pub mod rules;
pub mod select;
pub mod target;
pub mod targets_file;
pub mod terminal;
pub mod units;
pub mod watch;
