//! The macros, re-exported with their user documentation.

/// Implements [`Var`](crate::Var) for a struct of variables and publishes a process-wide
/// instance, `Type::global()`, at link time.
///
/// ```
/// use expvar::{Counter, Expvar};
///
/// #[derive(Expvar, Default)]
/// struct ApiStats {
///     total: Counter,
///     success: Counter,
///     fail: Counter,
/// }
///
/// ApiStats::global().total.inc();
/// ApiStats::global().success.inc();
/// assert_eq!(
///     expvar::render_json(&*expvar::get("api_stats").unwrap()),
///     r#"{"total": 1, "success": 1, "fail": 0}"#,
/// );
/// ```
///
/// - **Fields** are written as one JSON object, **in declaration order**. Every field
///   must implement [`Var`](crate::Var): the variable types, your own types, and other
///   derived structs, which nest as objects. A field of another type is a compile error
///   at that field.
/// - **`global()`** returns a `&'static Self` created with `Default` on first use
///   (so the struct needs `Default`, usually `#[derive(Default)]`). It is published as
///   the struct's name in snake case (`ApiStats` -> `api_stats`); no call is needed
///   for it to appear at `/debug/vars`.
/// - **Other instances** are plain values: publish them at run time for per-object
///   statistics, `expvar::publish("pool_a", Arc::new(stats))`.
/// - **Doc comments** on fields become their help text (the Prometheus `HELP` line).
///
/// | attribute | on | effect |
/// |---|---|---|
/// | `#[expvar(name = "queue")]` | struct | publish `global()` as `queue` |
/// | `#[expvar(crate = path)]` | struct | path of `expvar`, for crates that re-export it |
/// | `#[expvar(rename = "latency")]` | field | the field's JSON key |
/// | `#[expvar(label = "kind")]` | `Map` field | names the map's keys (a `Default` map is labelled `key`) |
/// | `#[expvar(skip)]` | field | leave the field out; it need not be a `Var` |
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use expvar::{Counter, Expvar, Gauge, Histogram, Map};
///
/// #[derive(Expvar, Default)]
/// struct Retries {
///     attempts: Counter,
/// }
///
/// #[derive(Expvar, Default)]
/// #[expvar(name = "doc_queue")]
/// struct QueueStatus {
///     /// Tasks waiting to run.
///     pending: Gauge,
///     done: Counter,
///     #[expvar(rename = "latency")]
///     wait: Histogram,
///     #[expvar(label = "kind")]
///     by_kind: Map<Counter>,
///     #[expvar(skip)]
///     scratch: Mutex<Vec<u8>>,
///     retries: Retries,
/// }
///
/// let queue = QueueStatus::global();
/// queue.pending.set(3);
/// queue.by_kind.inc("email");
/// queue.retries.attempts.inc();
/// let json = expvar::render_json(&*expvar::get("doc_queue").unwrap());
/// assert!(json.starts_with(r#"{"pending": 3, "done": 0, "latency": {"count": 0, "#));
/// assert!(json.ends_with(r#""by_kind": {"email": 1}, "retries": {"attempts": 1}}"#));
///
/// // Per-object statistics, published at run time:
/// let pool = Arc::new(QueueStatus::default());
/// expvar::publish("doc_queue_pool_a", Arc::clone(&pool)).unwrap();
/// ```
pub use expvar_macros::Expvar;

/// Counts the calls of a function, or of every method of an `impl` block.
///
/// Each annotated function has one entry in the top-level `functions` variable, keyed
/// by its path, with `calls`, `in_flight`, and `errors` when the function returns a
/// `Result` or an `Option`:
///
/// ```
/// #[expvar::counted]
/// fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// assert!(parse_port("8080").is_ok());
/// assert!(parse_port("http").is_err());
///
/// let stats = expvar::functions::function_stats("rust_out::parse_port").unwrap();
/// assert_eq!((stats.calls(), stats.errors(), stats.in_flight()), (2, 1, 0));
/// // /debug/vars: "functions": {"rust_out::parse_port": {"calls": 2, "errors": 1, "in_flight": 0}, ...}
/// ```
///
/// - **Keys** are `module::function`; in an annotated `impl`, `module::Type::method`, or
///   `module::<Type as Trait>::method` in a trait impl. A `#[counted]` on one method
///   inside an `impl` cannot see the type, so that key is `module::method`.
/// - **`name = "..."`** replaces the key and also publishes the call count as a
///   top-level variable of that name, like Go's `expvar.NewInt`:
///   `#[counted(name = "requests_total")]`.
/// - **Errors**: a return type whose last path segment is `Result` (including
///   `io::Result`, `anyhow::Result`) counts `Err` values; `Option` counts `None`. An
///   alias with another name is not recognized. A panic counts as an error too.
/// - **Accounting** goes through a guard dropped when the call ends, so early `return`,
///   `?`, panics and dropped futures are all counted and `in_flight` never leaks. A
///   future dropped before completion counts as a call, not as an error.
/// - **With `#[timed]`** on the same function, both share one entry.
/// - **Works on** free functions, methods, trait impls, `async fn`, generic functions
///   (all instantiations share one entry), `unsafe fn`, functions returning
///   `impl Trait`. Not on a `const fn` (a compile error). In an annotated `impl`,
///   `const fn`s are left alone and `#[expvar(skip)]` leaves out a method.
/// - **`crate = path`** names the `expvar` crate when it is re-exported.
/// - **`objective = "99.9%"`** declares a service level objective on the function: that
///   share of its calls succeed over the window (30 days, or `window = "7d"`). A
///   latency objective (`"99% < 250ms"`) needs durations: with `#[timed]`. The
///   objective is named by the key, or `objective_name = "checkout"`, which several
///   functions may share to make one objective of their calls. See
///   [`objectives`](crate::objectives) for what is computed and where it shows.
/// - **Cost**: a static per function, no lock, allocation or lookup per call: one
///   per-thread counter increment on entry and one on exit. An objective adds nothing
///   to a call: it reads the same counts at a fixed cadence.
///
/// ```
/// struct Repo;
///
/// #[expvar::counted]
/// impl Repo {
///     fn find(&self) -> Option<u32> {
///         None
///     }
///     #[expvar(skip)]
///     fn helper(&self) {}
/// }
///
/// Repo.find();
/// assert_eq!(expvar::functions::function_stats("rust_out::Repo::find").unwrap().errors(), 1);
/// ```
pub use expvar_macros::counted;

/// Counts and times the calls of a function, or of every method of an `impl` block.
///
/// Everything [`counted`] records, plus a `duration` histogram in seconds (`count`,
/// `sum`, `min`, `max`, `p50`, `p90`, `p99`). Takes the same arguments (`name`,
/// `crate`); with `#[counted]` on the same function, both share one entry.
///
/// For an `async fn` the duration runs **from the first poll to completion**: wall time,
/// awaits included. A future dropped midway records the time until it was dropped.
/// A plain `fn` returning `impl Future` is timed while it creates the future only.
///
/// ```
/// #[expvar::timed]
/// async fn fetch(id: u32) -> Option<String> {
///     (id % 2 == 0).then(|| format!("row {id}"))
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// fetch(2).await;
/// fetch(3).await;
/// # });
/// let stats = expvar::functions::function_stats("rust_out::fetch").unwrap();
/// assert_eq!((stats.calls(), stats.errors(), stats.duration().count()), (2, 1, 2));
/// ```
///
/// `objective = "99% < 250ms"` declares a latency objective: that share of the calls
/// finish within the threshold over the window. The threshold must be a bucket bound of
/// the function's histogram (a power of two by default: `62.5ms`, `125ms`, `250ms`,
/// `500ms`, `1s`, ...; or one of `buckets = [..]`), so calls within it are counted
/// exactly, as Prometheus's `le` bucket counts them; another threshold is a compile
/// error. A success rate (`"99.9%"`) can be given here too, and both in one attribute:
///
/// ```
/// #[expvar::timed(objective = "99.9%", objective = "99% < 250ms", window = "7d")]
/// fn pay(order: u64) -> Result<(), String> {
///     if order > 0 { Ok(()) } else { Err("empty order".into()) }
/// }
///
/// pay(1).unwrap();
/// let json = expvar::to_json();
/// assert!(json.contains(r#""rust_out::pay": {"window": "7d""#), "{json}");
/// ```
///
/// Cost: two clock reads and one histogram record per call on top of [`counted`].
pub use expvar_macros::timed;

/// Publishes a `static` variable at link time, Go's
/// `var requests = expvar.NewInt("requests")`.
///
/// The name is the static's name in lowercase, or `name = "..."`. No call is needed:
/// the variable is at `/debug/vars` from the start of `main`. The attribute lives in
/// the macro namespace, next to the [`publish`](fn@crate::publish) function, which
/// publishes at run time.
///
/// ```
/// use expvar::{Counter, Map};
///
/// #[expvar::publish]
/// static REQUESTS: Counter = Counter::new();
///
/// #[expvar::publish(name = "api_results")]
/// static RESULTS: Map<Counter> = Map::with_label("result");
///
/// REQUESTS.inc();
/// RESULTS.inc("success");
/// assert_eq!(expvar::render_json(&*expvar::get("requests").unwrap()), "1");
/// assert_eq!(expvar::render_json(&*expvar::get("api_results").unwrap()), r#"{"success": 1}"#);
/// ```
///
/// The static's type must implement [`Var`](crate::Var); a `static mut` is refused
/// (variables update through `&self`).
pub use expvar_macros::publish;
