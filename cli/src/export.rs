//! `expvar export`: a Prometheus exporter for a fleet. Each scrape of `/metrics` reads
//! every target at once, each within the timeout, and renders them all (see
//! [`bridge`](crate::bridge)); a target that does not answer is `expvar_target_up 0`.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::bridge::{render, Source};
use crate::fetch::fetch_all;
use crate::target::{Auth, Target};
use crate::targets_file::TargetsFile;
use expvar::prometheus::{PrometheusFormat, PrometheusOptions};

/// What `expvar export` was asked to do.
pub struct Config {
    pub listen: String,
    pub targets: Vec<Target>,
    pub targets_file: Option<PathBuf>,
    pub default_auth: Option<Auth>,
    pub timeout: Duration,
}

struct Exporter {
    targets: Vec<Target>,
    file: Option<Mutex<TargetsFile>>,
    timeout: Duration,
}

impl Exporter {
    /// The targets of this scrape: the command line's, then the file's as it is now.
    fn targets(&self) -> Vec<Target> {
        let mut targets = self.targets.clone();
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            targets.extend(file.targets().iter().cloned());
        }
        targets
    }

    async fn scrape(&self, format: PrometheusFormat) -> String {
        let targets = self.targets();
        let fetched = fetch_all(&targets, self.timeout).await;
        let sources = targets
            .into_iter()
            .zip(fetched)
            .map(|(target, fetched)| Source {
                name: target.authority,
                labels: target.labels,
                doc: fetched.result.ok(),
                duration: fetched.duration,
            })
            .collect();
        render(sources, &PrometheusOptions::new().format(format))
    }
}

/// Serves `/metrics` until the process is stopped.
pub fn run(config: Config) -> Result<(), String> {
    let file = match &config.targets_file {
        Some(path) => Some(Mutex::new(TargetsFile::open(
            path,
            config.default_auth.clone(),
        )?)),
        None => None,
    };
    if config.targets.is_empty() && file.is_none() {
        return Err("no targets: give URLs or --targets-file".into());
    }
    let exporter = Arc::new(Exporter {
        targets: config.targets,
        file,
        timeout: config.timeout,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
        let addr = listener.local_addr().map_err(|error| error.to_string())?;
        println!("serving http://{addr}/metrics");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let exporter = Arc::clone(&exporter);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let exporter = Arc::clone(&exporter);
                    async move { Ok::<_, Infallible>(respond(&exporter, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

async fn respond(exporter: &Exporter, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    };
    match request.uri().path() {
        "/metrics" => {
            let accept = request
                .headers()
                .get(hyper::header::ACCEPT)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            let format = PrometheusFormat::from_accept(accept);
            let body = exporter.scrape(format).await;
            reply(StatusCode::OK, format.content_type(), body)
        }
        "/" => {
            let mut body = String::from("expvar export: metrics at /metrics\n\ntargets:\n");
            for target in exporter.targets() {
                body.push_str(&format!("  {target}\n"));
            }
            reply(StatusCode::OK, "text/plain; charset=utf-8", body)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: try /metrics\n".into(),
        ),
    }
}
