//! Expansion snapshots: what `cargo expand` shows for typical inputs, formatted with
//! prettyplease and stored in `tests/snapshots/*.rs` for review.
//!
//! `EXPVAR_BLESS=1 cargo test -p expvar-macros` rewrites them after a deliberate change;
//! review the diff like any other code.

use std::path::PathBuf;

use proc_macro2::TokenStream;

use crate::ast::{snake_case, Kind};
use crate::expand;

fn tokens(source: &str) -> TokenStream {
    source.parse().expect("test input tokenizes")
}

fn check_snapshot(name: &str, input: &str, expanded: &TokenStream) {
    let file: syn::File = syn::parse2(expanded.clone())
        .unwrap_or_else(|error| panic!("{name}: expansion does not parse: {error}\n{expanded}"));
    let mut text = String::from("// Input:\n//\n");
    for line in input.trim().lines() {
        text.push_str("// ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("//\n// Expansion:\n\n");
    text.push_str(&prettyplease::unparse(&file));

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.rs"));
    if std::env::var_os("EXPVAR_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with EXPVAR_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        stored == text,
        "expansion of {name} changed; review it and run with EXPVAR_BLESS=1 to update \
         {}\n--- new expansion ---\n{text}",
        path.display()
    );
}

fn derive(name: &str, input: &str) {
    check_snapshot(name, input, &expand::derive(tokens(input)));
}

fn attribute(name: &str, kind: Option<Kind>, args: &str, item: &str) {
    let expanded = match kind {
        Some(kind) => expand::instrument(kind, tokens(args), tokens(item)),
        None => expand::publish(tokens(args), tokens(item)),
    };
    let macro_name = kind.map_or("publish", Kind::name);
    let shown = if args.is_empty() {
        format!("#[{macro_name}]\n{}", item.trim())
    } else {
        format!("#[{macro_name}({args})]\n{}", item.trim())
    };
    check_snapshot(name, &shown, &expanded);
}

#[test]
fn derive_plain() {
    derive(
        "derive_plain",
        "
#[derive(Expvar, Default)]
struct ApiStats {
    total: Counter,
    success: Counter,
    fail: Counter,
}
",
    );
}

#[test]
fn derive_attributes() {
    derive(
        "derive_attributes",
        r#"
#[derive(Expvar, Default)]
#[expvar(name = "queue")]
pub struct QueueStatus {
    /// Tasks waiting to run.
    pending: Gauge,
    done: Counter,
    #[expvar(rename = "latency")]
    wait: Histogram,
    #[expvar(label = "kind")]
    by_kind: Map<Counter>,
    #[expvar(skip)]
    scratch: std::sync::Mutex<Vec<u8>>,
    nested: ApiStats,
}
"#,
    );
}

#[test]
fn derive_native() {
    derive(
        "derive_native",
        r#"
#[derive(Expvar, Default)]
pub struct Latencies {
    #[expvar(native)]
    request: Histogram,
    #[expvar(native, buckets = [0.01, 0.1, 1.0])]
    upstream: Histogram,
}
"#,
    );
}

#[test]
fn counted_fn() {
    attribute("counted_fn", Some(Kind::Counted), "", "fn handle() {}");
}

#[test]
fn counted_named() {
    attribute(
        "counted_named",
        Some(Kind::Counted),
        r#"name = "requests_total""#,
        r#"pub fn index() -> &'static str { "hello" }"#,
    );
}

#[test]
fn counted_timed_async_result() {
    attribute(
        "counted_timed_async_result",
        Some(Kind::Counted),
        "",
        "
#[timed]
async fn fetch(id: u32) -> Result<Row, DbError> {
    let row = db::get(id).await?;
    Ok(row)
}
",
    );
}

#[test]
fn timed_sync_option() {
    attribute(
        "timed_sync_option",
        Some(Kind::Timed),
        "",
        "
fn lookup(&self, key: &str) -> Option<&Row> {
    #![allow(clippy::needless_return)]
    let index = self.index.get(key)?;
    self.rows.get(*index)
}
",
    );
}

#[test]
fn timed_impl() {
    attribute(
        "timed_impl",
        Some(Kind::Timed),
        "",
        "
impl Repo {
    const fn new() -> Self { Repo }
    fn find(&self) {}
    #[counted]
    async fn save(&mut self) {}
    #[expvar(skip)]
    fn helper(&self) {}
}
",
    );
}

#[test]
fn publish_static() {
    attribute(
        "publish_static",
        None,
        "",
        "static REQUESTS: Counter = Counter::new();",
    );
}

#[test]
fn publish_documented() {
    attribute(
        "publish_documented",
        None,
        "",
        "/// Jobs taken from the queue.\nstatic JOBS: Counter = Counter::new();",
    );
}

#[test]
fn objectives_combined() {
    attribute(
        "objectives_combined",
        Some(Kind::Counted),
        r#"objective = "99.9%", objective_name = "checkout""#,
        r#"
#[timed(objective = "99% < 250ms", window = "7d")]
fn pay(order: u64) -> Result<(), PaymentError> {
    gateway::charge(order)
}
"#,
    );
}

#[test]
fn timed_buckets() {
    attribute(
        "timed_buckets",
        Some(Kind::Timed),
        "buckets = [0.00005, 0.0001, 0.001]",
        "fn handler(x: u32) -> u32 { x + 1 }",
    );
}

#[test]
fn timed_native() {
    attribute(
        "timed_native",
        Some(Kind::Timed),
        "native",
        "fn handler(x: u32) -> u32 { x + 1 }",
    );
}

#[test]
fn snake_case_names() {
    assert_eq!(snake_case("ApiStats"), "api_stats");
    assert_eq!(snake_case("HTTPStats"), "http_stats");
    assert_eq!(snake_case("WebStats2"), "web_stats2");
    assert_eq!(snake_case("Stats"), "stats");
    assert_eq!(snake_case("already_snake"), "already_snake");
}
