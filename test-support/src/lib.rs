//! What the workspace's integration tests share (`tests/` and `cli/tests/`), so each
//! exists once: HTTP by hand ([`http`]), child processes and end-to-end skips
//! ([`process`]), the examples and Go's expvar as targets ([`targets`]), a real
//! Prometheus and promtool ([`prometheus`]), Python's strict parsers and protobuf
//! decoder ([`python`]), headless Chromium ([`browser`]), the strict exposition parser
//! ([`exposition`]), dashboard event streams ([`sse`]), the hostile registry
//! ([`hostile`]), scripted targets for huge, hostile or hung documents ([`scripted`]) and
//! a terminal to run `expvar watch` in ([`tmux`]).
//!
//! Not published; a dev-dependency only.

pub mod browser;
pub mod exposition;
pub mod hostile;
pub mod http;
pub mod logs;
pub mod otlp;
pub mod process;
pub mod prometheus;
pub mod push;
pub mod python;
pub mod scripted;
pub mod sse;
pub mod targets;
pub mod tls;
pub mod tmux;
pub mod victoria;

pub use http::{closed_by_peer, get, request, send_raw, try_get, url_encode, Response};
pub use process::{
    external_program, free_port, peak_rss_kib, skip_or_fail, wait_for, wait_for_line, ChildGuard,
    TempDir,
};
pub use targets::{
    example_path, go_expvar_binary, go_pprof_raw, repo_root, start_example, start_go,
    start_quickstart, start_web_example, target_tmp, ObjectivesExample,
};
