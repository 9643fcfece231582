//! The debug endpoints as a service: routing and responses, independent of how
//! connections are accepted, so the same service runs in our server or in a user's app.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::header::{
    HeaderValue, ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

use super::auth::Auth;
use super::dashboard::{EventStream, PAGE};
use super::sampler::{Hub, Refusal};
use crate::encode::prometheus::{PrometheusFormat, PrometheusOptions};
use crate::server::status::hardware::{self, Hardware, HardwareConfig};

/// The response body type of [`ExpvarService`]: a whole document, or the dashboard's
/// endless stream of samples.
pub type Body = BoxBody<Bytes, Infallible>;

const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const EVENT_STREAM: &str = "text/event-stream";

/// Concurrent dashboard clients allowed by default.
pub(crate) const DEFAULT_MAX_DASHBOARD_CLIENTS: usize = 8;

/// The debug endpoints as a hyper (and, with the `tower` feature, tower) service, for
/// mounting in an application's own server (Go's `http.Handle("/debug/vars", expvar.Handler())`).
///
/// Serves `GET`/`HEAD`:
/// - `{prefix}/debug/vars`: every published variable as JSON;
/// - `{prefix}/metrics`: the same in the Prometheus text format 0.0.4, or OpenMetrics 1.0
///   when the `Accept` header asks for it;
/// - `{prefix}/debug/dashboard`: the live dashboard page, self-contained;
/// - `{prefix}/debug/dashboard/events`: the samples the page charts, as Server-Sent
///   Events, one per second from one sampler shared by every open page. At most
///   [`max_dashboard_clients`](crate::ServerBuilder::max_dashboard_clients) streams are
///   served at once; more get `503`.
/// - `{prefix}/status/health`: `200 OK`, or `503` with the reasons of the failing
///   [readiness checks](crate::add_readiness_check). Never asks for credentials, so
///   load balancers can poll it;
/// - `{prefix}/status/hardware/{disk,ram,cpu}`: use of the resource as JSON, with a
///   status code set by its [`Thresholds`](crate::Thresholds).
///
/// With the `pprof` feature, also `{prefix}/debug/pprof/profile?seconds=N`: a CPU
/// profile of `N` seconds (default 30, at most 300) in pprof's protobuf format, for
/// `go tool pprof`, or an SVG flame graph with `&format=svg`. A bad `seconds` or
/// `format` gets 400 with the reason, a request while another profile runs 409.
///
/// Other methods get 405 with `Allow`, other paths 404. With credentials configured,
/// requests without them get 401 (except for the health endpoint).
///
/// ```
/// use hyper::service::Service as _;
///
/// let service = expvar::service();
/// let request = hyper::Request::get("/debug/vars").body(()).unwrap();
/// let response = futures_lite_block_on(service.call(request)).unwrap();
/// assert_eq!(response.status(), 200);
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ExpvarService {
    config: Arc<ServiceConfig>,
    /// Shared by every clone, so all connections of a server share one sampler.
    dashboard: Arc<Hub>,
}

#[derive(Debug, Default)]
pub(crate) struct ServiceConfig {
    /// Prepended to every endpoint path; empty or `/`-led without a trailing `/`.
    pub(crate) prefix: String,
    pub(crate) auth: Option<Auth>,
    /// Namespace, constant labels and version for `/metrics`; the format is negotiated.
    pub(crate) prometheus: PrometheusOptions,
    pub(crate) hardware: HardwareConfig,
    pub(crate) dashboard: DashboardConfig,
}

#[derive(Debug)]
pub(crate) struct DashboardConfig {
    pub(crate) max_clients: usize,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            max_clients: DEFAULT_MAX_DASHBOARD_CLIENTS,
        }
    }
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Vars,
    Metrics,
    Dashboard,
    DashboardEvents,
    Health,
    Hardware(Hardware),
    #[cfg(feature = "pprof")]
    Profile,
    ProfileIndex,
    #[cfg(feature = "heap-profile")]
    HeapProfile,
}

/// A response, or work that produces one later.
enum Reply {
    Now(Response<Body>),
    #[cfg(feature = "pprof")]
    Profile(crate::server::pprof::Job),
}

impl ExpvarService {
    pub(crate) fn new(config: ServiceConfig) -> Self {
        ExpvarService {
            dashboard: Arc::new(Hub::new(config.dashboard.max_clients)),
            config: Arc::new(config),
        }
    }

    /// Answers one request. The request body is never read.
    ///
    /// A profile request (feature `pprof`) blocks the calling thread for the length of
    /// the profile; the [`Service`](hyper::service::Service) impl runs it on its own
    /// thread instead.
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Body> {
        match self.dispatch(request) {
            Reply::Now(response) => response,
            #[cfg(feature = "pprof")]
            Reply::Profile(job) => job.run(),
        }
    }

    fn dispatch<B>(&self, request: &Request<B>) -> Reply {
        let Some(endpoint) = self.route(request.uri().path()) else {
            return Reply::Now(plain(StatusCode::NOT_FOUND, "404 page not found\n"));
        };
        let needs_auth = endpoint != Endpoint::Health;
        if let Some(auth) = self.config.auth.as_ref().filter(|_| needs_auth) {
            if !auth.allows(request.headers()) {
                let mut response = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, auth.challenge());
                return Reply::Now(response);
            }
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Reply::Now(response);
        }
        Reply::Now(match endpoint {
            Endpoint::Vars => with_type(StatusCode::OK, JSON, crate::to_json()),
            Endpoint::Metrics => {
                let format = request
                    .headers()
                    .get_all(ACCEPT)
                    .iter()
                    .filter_map(|accept| accept.to_str().ok())
                    .map(PrometheusFormat::from_accept)
                    .find(|format| *format == PrometheusFormat::OpenMetrics)
                    .unwrap_or_default();
                let options = self.config.prometheus.clone().format(format);
                let mut response = with_type(
                    StatusCode::OK,
                    format.content_type(),
                    crate::to_prometheus_with(&options),
                );
                // The body depends on `Accept`: caches must not mix the two formats.
                response
                    .headers_mut()
                    .insert(VARY, HeaderValue::from_static("Accept"));
                response
            }
            Endpoint::Dashboard => with_type(StatusCode::OK, HTML, PAGE.clone()),
            Endpoint::DashboardEvents => self.events(request.method() == Method::HEAD),
            Endpoint::Health => match crate::check_readiness() {
                Ok(()) => plain(StatusCode::OK, "OK"),
                Err(failures) => {
                    let mut body = String::from("503 service unavailable\n");
                    for (name, reason) in failures {
                        body.push_str(&format!("{name}: {reason}\n"));
                    }
                    with_type(StatusCode::SERVICE_UNAVAILABLE, TEXT, body)
                }
            },
            Endpoint::Hardware(resource) => {
                let report = hardware::report(resource, &self.config.hardware);
                let status = StatusCode::from_u16(report.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                with_type(status, JSON, report.body.to_string())
            }
            Endpoint::ProfileIndex => {
                with_type(StatusCode::OK, HTML, crate::server::profiles::index())
            }
            #[cfg(feature = "heap-profile")]
            Endpoint::HeapProfile => match crate::server::profiles::heap() {
                Ok(profile) => with_type(StatusCode::OK, "application/octet-stream", profile),
                Err(reason) => with_type(StatusCode::SERVICE_UNAVAILABLE, TEXT, reason + "\n"),
            },
            #[cfg(feature = "pprof")]
            Endpoint::Profile => match crate::server::pprof::prepare(request.uri().query()) {
                Ok(job) => return Reply::Profile(job),
                Err(crate::server::pprof::Refusal::BadRequest(message)) => {
                    with_type(StatusCode::BAD_REQUEST, TEXT, message)
                }
                Err(crate::server::pprof::Refusal::Busy) => plain(
                    StatusCode::CONFLICT,
                    "409 conflict: a profile is already running\n",
                ),
            },
        })
    }

    /// The reply as a future: a profile runs on a thread of its own.
    fn reply_future<B>(&self, request: &Request<B>) -> ResponseFuture {
        match self.dispatch(request) {
            Reply::Now(response) => ResponseFuture(Pending::Ready(Some(response))),
            #[cfg(feature = "pprof")]
            Reply::Profile(job) => {
                let (done, waiting) = tokio::sync::oneshot::channel();
                let spawned = std::thread::Builder::new()
                    .name("expvar-pprof".into())
                    .spawn(move || {
                        let _ = done.send(job.run());
                    });
                match spawned {
                    Ok(_) => ResponseFuture(Pending::Profile(waiting)),
                    Err(error) => ResponseFuture(Pending::Ready(Some(with_type(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        TEXT,
                        format!("cannot start profiling: {error}\n"),
                    )))),
                }
            }
        }
    }

    fn route(&self, path: &str) -> Option<Endpoint> {
        match path.strip_prefix(self.config.prefix.as_str())? {
            "/debug/vars" => Some(Endpoint::Vars),
            "/metrics" => Some(Endpoint::Metrics),
            "/debug/dashboard" | "/debug/dashboard/" => Some(Endpoint::Dashboard),
            "/debug/dashboard/events" => Some(Endpoint::DashboardEvents),
            "/status/health" => Some(Endpoint::Health),
            #[cfg(feature = "pprof")]
            "/debug/pprof/profile" => Some(Endpoint::Profile),
            "/debug/pprof" | "/debug/pprof/" => Some(Endpoint::ProfileIndex),
            #[cfg(feature = "heap-profile")]
            "/debug/pprof/heap" => Some(Endpoint::HeapProfile),
            path => path
                .strip_prefix("/status/hardware/")
                .and_then(Hardware::from_path)
                .map(Endpoint::Hardware),
        }
    }

    /// Ends every open dashboard event stream and refuses new ones (503).
    ///
    /// A dashboard's stream is an endless response, so a graceful shutdown that waits
    /// for responses to finish would wait for it until its deadline. Our server calls
    /// this when it stops; call it before shutting down a server you mounted the
    /// service in. Clones of a service share their dashboards.
    ///
    /// ```
    /// let service = expvar::service();
    /// // ... serve with it; then, when stopping:
    /// service.close_dashboards();
    /// ```
    pub fn close_dashboards(&self) {
        self.dashboard.close();
    }

    /// Opens a dashboard client's event stream, or refuses it with 503.
    fn events(&self, head: bool) -> Response<Body> {
        let body = if head {
            Empty::new().boxed()
        } else {
            match self.dashboard.subscribe() {
                Ok(subscription) => EventStream::new(subscription).boxed(),
                Err(refusal) => {
                    let reason = match refusal {
                        Refusal::Full => "503 too many dashboard clients\n",
                        Refusal::Closed => "503 the server is stopping\n",
                        Refusal::NoRuntime => "503 the dashboard stream needs a tokio runtime\n",
                    };
                    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, reason);
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                    return response;
                }
            }
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Tells buffering proxies (nginx) to pass each event on at once.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    with_type(status, TEXT, body)
}

fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Live data: a cached copy is a wrong copy.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The future of an [`ExpvarService`] response: ready at once, except for a profile,
/// which resolves when the profile is done.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture(Pending);

enum Pending {
    Ready(Option<Response<Body>>),
    #[cfg(feature = "pprof")]
    Profile(tokio::sync::oneshot::Receiver<Response<Body>>),
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    // Only a profile waits for a wake-up; without the feature `cx` is unused.
    #[cfg_attr(not(feature = "pprof"), allow(unused_variables))]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Pending::Ready(response) => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
            #[cfg(feature = "pprof")]
            Pending::Profile(waiting) => Pin::new(waiting).poll(cx).map(|done| {
                Ok(done.unwrap_or_else(|_| {
                    plain(StatusCode::INTERNAL_SERVER_ERROR, "profiling failed\n")
                }))
            }),
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<B> hyper::service::Service<Request<B>> for ExpvarService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> Self::Future {
        self.reply_future(&request)
    }
}

#[cfg(feature = "tower")]
impl<B> tower_service::Service<Request<B>> for ExpvarService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.reply_future(&request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerBuilder;

    fn get(service: &ExpvarService, path: &str, accept: Option<&str>) -> Response<Body> {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        service.respond(&request.body(()).unwrap())
    }

    fn body(response: Response<Body>) -> String {
        use http_body_util::BodyExt as _;
        let collected = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(response.into_body().collect())
            .unwrap();
        String::from_utf8(collected.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn metrics_negotiates_the_format() {
        let service = ServerBuilder::new()
            .prefix("/admin")
            .const_label("service", "api")
            .service();
        let text = get(&service, "/admin/metrics", None);
        assert_eq!(text.status(), StatusCode::OK);
        assert_eq!(
            text.headers()[CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(text.headers()[VARY], "Accept");
        let text = body(text);
        assert!(text.contains("build_info{service=\"api\",expvar_version="));
        assert!(!text.contains("# EOF"));

        let openmetrics = get(
            &service,
            "/admin/metrics",
            Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
        );
        assert_eq!(
            openmetrics.headers()[CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(body(openmetrics).ends_with("# EOF\n"));

        assert_eq!(
            get(&service, "/metrics", None).status(),
            StatusCode::NOT_FOUND
        );
        let post = service.respond(&Request::post("/admin/metrics").body(()).unwrap());
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
