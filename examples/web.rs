//! A small HTTP service instrumented with the macros, its statistics on a separate
//! loopback-only debug port (as Go's expvar and statsviz guides recommend: never on
//! the public listener).
//!
//! ```text
//! cargo run --example web
//! curl -s 127.0.0.1:8080/users/2        # 200 user 2
//! curl -s 127.0.0.1:8080/users/3        # 404
//! curl -s 127.0.0.1:6060/debug/vars     # "web", "requests_total", "functions", "tokio", ...
//! open http://127.0.0.1:6060/debug/dashboard  # live charts of all of it
//! ```
//!
//! `WEB_ADDR` (default `127.0.0.1:8080`) and `EXPVAR_ADDR` (default `127.0.0.1:6060`)
//! change the addresses; port 0 picks free ports, printed on startup.

use std::convert::Infallible;
use std::io::Write;

use expvar::{counted, timed, Counter, Expvar, Gauge, Map};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

// Counts allocations, so `memstats` and the dashboard's memory charts hold real figures.
#[global_allocator]
static ALLOC: expvar::CountingAlloc = expvar::CountingAlloc::new();

/// Statistics of the service, published as `web`.
#[derive(Expvar, Default)]
#[expvar(name = "web")]
struct WebStats {
    /// HTTP requests received.
    requests: Counter,
    /// HTTP responses sent, by status code.
    #[expvar(label = "status")]
    responses_by_status: Map<Counter>,
    /// Requests being handled.
    in_flight: Gauge,
}

/// `GET /`. Also published as the top-level `requests_total`, Go's `expvar.NewInt`.
#[counted(name = "requests_total")]
async fn index() -> &'static str {
    "hello\n"
}

/// The user `id` does not exist.
#[derive(Debug)]
struct NotFound;

/// `GET /users/{id}`: even ids exist. An `Err` counts in the entry's `errors`.
#[counted]
#[timed]
async fn get_user(id: u64) -> Result<String, NotFound> {
    // Stands in for a database round trip.
    tokio::task::yield_now().await;
    if id % 2 == 0 {
        Ok(format!("user {id}\n"))
    } else {
        Err(NotFound)
    }
}

async fn route(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let stats = WebStats::global();
    stats.requests.inc();
    stats.in_flight.inc();
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => (StatusCode::OK, index().await.to_owned()),
        (&Method::GET, path) => match path.strip_prefix("/users/").map(str::parse) {
            Some(Ok(id)) => match get_user(id).await {
                Ok(user) => (StatusCode::OK, user),
                Err(NotFound) => (StatusCode::NOT_FOUND, "no such user\n".to_owned()),
            },
            _ => (StatusCode::NOT_FOUND, "not found\n".to_owned()),
        },
        _ => (StatusCode::NOT_FOUND, "not found\n".to_owned()),
    };
    stats.responses_by_status.inc(status.as_str());
    stats.in_flight.dec();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Shows the runtime's warnings, which go through `log`.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let web_addr = std::env::var("WEB_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(&web_addr).await?;
    // The app's runtime, as `tokio`: workers, alive tasks (like Go's goroutines) and the
    // global queue, charted on the dashboard beside the OS threads.
    expvar::publish(
        "tokio",
        std::sync::Arc::new(expvar::stats::TokioRuntime::current()),
    )?;
    // The debug endpoint: its own thread and runtime, on `EXPVAR_ADDR` (loopback).
    let debug = expvar::ServerBuilder::from_env().start()?;

    let mut stdout = std::io::stdout();
    writeln!(stdout, "app listening on http://{}", listener.local_addr()?)?;
    writeln!(stdout, "debug listening on http://{}", debug.local_addr())?;
    writeln!(
        stdout,
        "dashboard at http://{}/debug/dashboard",
        debug.local_addr()
    )?;
    stdout.flush()?;

    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let connection =
                http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(route));
            if let Err(error) = connection.await {
                eprintln!("connection error: {error}");
            }
        });
    }
}
