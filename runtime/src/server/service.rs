//! The debug endpoints as a service: routing and responses, independent of how
//! connections are accepted, so the same service runs in our server or in a user's app.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::header::{HeaderValue, ACCEPT, ALLOW, RETRY_AFTER, VARY, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::auth::{self, Auth};
use super::dashboard::{self, Hub, Streams, PAGE};
use super::http::{busy, plain, with_type, Body, HTML, JSON, TEXT, YAML};
use super::status::hardware::{self, Hardware, HardwareConfig};
use super::status::health::{self, ObjectiveHealth, DEFAULT_READINESS_DEADLINE};
use crate::capture::{collect, pool, DEFAULT_RENDER_DEADLINE};
use crate::encode::json::JsonDocument;
use crate::encode::prometheus::{
    protobuf_document, text_document, Exposition, PrometheusOptions, PROTOBUF_CONTENT_TYPE,
};
use crate::encode::render;
use crate::objectives::{rules_yaml, specs, time_scale};
use crate::registry::RegistryRef;

/// Concurrent dashboard clients allowed by default.
pub(crate) const DEFAULT_MAX_DASHBOARD_CLIENTS: usize = 8;
/// How long a write may wait for the client by default; also how long a dashboard
/// stream's event may go unacknowledged.
pub(crate) const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Documents (vars, metrics, hardware) rendered at once by default.
pub(crate) const DEFAULT_MAX_REQUESTS_IN_FLIGHT: usize = 16;

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
///   served at once; more get `503`. Each stream's page acknowledges what it received
///   with `POST {prefix}/debug/dashboard/events/ack?stream=<id>&seen=<event id>`; a
///   stream with an event unacknowledged for the
///   [`write_timeout`](crate::ServerBuilder::write_timeout) is ended.
/// - `{prefix}/status/health`: `200 OK`, or `503` with the reasons of the failing
///   [readiness checks](crate::server::add_readiness_check); `200` with `degraded` and
///   the reasons while an [objective](crate::objectives) alerts (or `503`, see
///   [`objective_health`](crate::ServerBuilder::objective_health)). Never asks for
///   credentials, so load balancers can poll it;
/// - `{prefix}/debug/objectives/rules.yml`: Prometheus recording and alerting rules for
///   the registry's objectives ([`rules_yaml`](crate::objectives::rules_yaml));
/// - `{prefix}/status/hardware/{disk,ram,cpu}`: use of the resource as JSON, with a
///   status code set by its [`Thresholds`](crate::server::Thresholds).
///
/// With the `pprof` feature, also `{prefix}/debug/pprof/profile?seconds=N`: a CPU
/// profile of `N` seconds (default 30, at most 300) in pprof's protobuf format, for
/// `go tool pprof`, or an SVG flame graph with `&format=svg`. A bad `seconds` or
/// `format` gets 400 with the reason, a request while another profile runs 409. A profile
/// whose client leaves is stopped, freeing the slot.
///
/// A service from [`ServerBuilder::service`](crate::ServerBuilder::service) serves
/// relative to where it is mounted: it answers `{prefix}/debug/vars`, and also
/// `/debug/vars` when the router has already stripped the mount point, as axum's
/// `nest_service` does. So `nest_service("/ops", ..)` serves `/ops/debug/vars` with or
/// without `.prefix("/ops")`.
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
    /// Places for documents being rendered, shared by every clone.
    in_flight: Arc<Semaphore>,
    /// The open dashboard streams, by the ids their pages acknowledge with.
    streams: Arc<Streams>,
}

#[derive(Debug)]
pub(crate) struct ServiceConfig {
    /// Prepended to every endpoint path; empty or `/`-led without a trailing `/`.
    pub(crate) prefix: String,
    /// Handed out by [`ServerBuilder::service`](crate::ServerBuilder::service) to mount in
    /// a router. Routers that nest a service strip the mount point (axum's
    /// `nest_service("/ops", ..)` passes `/debug/vars`), so a mounted service also
    /// answers paths without its prefix: it serves relative to where it is mounted.
    pub(crate) mounted: bool,
    pub(crate) auth: Option<Auth>,
    /// What `/debug/vars`, `/metrics` and the dashboard show.
    pub(crate) registry: RegistryRef,
    /// Namespace, constant labels and version for `/metrics`; the format is negotiated.
    pub(crate) prometheus: PrometheusOptions,
    pub(crate) hardware: HardwareConfig,
    pub(crate) dashboard: DashboardConfig,
    /// How long a document waits for a variable that may block.
    pub(crate) render_deadline: Duration,
    /// How long `/status/health` waits for the readiness checks.
    pub(crate) readiness_deadline: Duration,
    /// What `/status/health` makes of an alerting objective.
    pub(crate) objective_health: ObjectiveHealth,
    /// Documents rendered at once; more get 503.
    pub(crate) max_requests_in_flight: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            prefix: String::new(),
            mounted: false,
            auth: None,
            registry: RegistryRef::default(),
            prometheus: PrometheusOptions::default(),
            hardware: HardwareConfig::default(),
            dashboard: DashboardConfig::default(),
            render_deadline: DEFAULT_RENDER_DEADLINE,
            readiness_deadline: DEFAULT_READINESS_DEADLINE,
            objective_health: ObjectiveHealth::default(),
            max_requests_in_flight: DEFAULT_MAX_REQUESTS_IN_FLIGHT,
        }
    }
}

#[derive(Debug)]
pub(crate) struct DashboardConfig {
    pub(crate) max_clients: usize,
    /// How long a stream's event may go unacknowledged by its page: the write timeout.
    pub(crate) ack_timeout: Duration,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            max_clients: DEFAULT_MAX_DASHBOARD_CLIENTS,
            ack_timeout: DEFAULT_WRITE_TIMEOUT,
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
    DashboardAck,
    Health,
    ObjectiveRules,
    Hardware(Hardware),
    #[cfg(feature = "pprof")]
    Profile,
    ProfileIndex,
    #[cfg(feature = "heap-profile")]
    HeapProfile,
}

/// Rendering work that produces a response, run off the async threads.
type Render = Box<dyn FnOnce() -> Response<Body> + Send>;

/// A response, or work that produces one later.
enum Reply {
    Now(Response<Body>),
    /// Rendering, holding one of the requests-in-flight places until it is done.
    Render(Render, OwnedSemaphorePermit),
    /// The readiness checks, run with their deadline.
    Health,
    #[cfg(feature = "pprof")]
    Profile(super::pprof::cpu::Job),
}

impl ExpvarService {
    pub(crate) fn new(config: ServiceConfig) -> Self {
        // The objectives' windows start with the service, not at the first read.
        crate::objectives::start(&config.registry);
        ExpvarService {
            dashboard: Arc::new(Hub::new(
                config.dashboard.max_clients,
                config.registry.clone(),
                config.render_deadline,
            )),
            in_flight: Arc::new(Semaphore::new(config.max_requests_in_flight.max(1))),
            streams: Arc::new(Streams::new(config.dashboard.ack_timeout)),
            config: Arc::new(config),
        }
    }

    /// Answers one request on the calling thread. The request body is never read.
    ///
    /// Rendering and readiness checks run here, a profile request (feature `pprof`)
    /// blocks for the length of the profile; the [`Service`](hyper::service::Service)
    /// impl runs all of them on worker threads instead.
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Body> {
        match self.dispatch(request) {
            Reply::Now(response) => response,
            Reply::Render(render, _permit) => render(),
            Reply::Health => health::response(
                &health::check_readiness_within(self.config.readiness_deadline),
                self.objective_verdict(),
            ),
            #[cfg(feature = "pprof")]
            Reply::Profile(job) => job.run(),
        }
    }

    /// `render` as a reply if a requests-in-flight place is free, else a 503.
    fn render(&self, render: impl FnOnce() -> Response<Body> + Send + 'static) -> Reply {
        match Arc::clone(&self.in_flight).try_acquire_owned() {
            Ok(permit) => Reply::Render(Box::new(render), permit),
            Err(_) => Reply::Now(busy("503 too many requests in flight\n")),
        }
    }

    fn dispatch<B>(&self, request: &Request<B>) -> Reply {
        let Some(endpoint) = self.route(request.uri().path()) else {
            return Reply::Now(plain(StatusCode::NOT_FOUND, "404 page not found\n"));
        };
        let needs_auth = endpoint != Endpoint::Health;
        if let Some(auth) = self.config.auth.as_ref().filter(|_| needs_auth) {
            match auth.check(request.headers()) {
                Ok(()) => {}
                Err(auth::Refusal::Several) => {
                    return Reply::Now(plain(
                        StatusCode::BAD_REQUEST,
                        "400 bad request: more than one Authorization header\n",
                    ));
                }
                Err(auth::Refusal::Wrong) => {
                    let mut response = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
                    response
                        .headers_mut()
                        .insert(WWW_AUTHENTICATE, auth.challenge());
                    return Reply::Now(response);
                }
            }
        }
        let allowed = match endpoint {
            Endpoint::DashboardAck => request.method() == Method::POST,
            _ => request.method() == Method::GET || request.method() == Method::HEAD,
        };
        if !allowed {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            let allow = match endpoint {
                Endpoint::DashboardAck => "POST",
                _ => "GET, HEAD",
            };
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return Reply::Now(response);
        }
        let deadline = self.config.render_deadline;
        let registry = self.config.registry.clone();
        match endpoint {
            Endpoint::Vars => self.render(move || {
                let vars = collect(registry.snapshot(), deadline);
                with_type(
                    StatusCode::OK,
                    JSON,
                    render(&vars, JsonDocument::new(vars.len())),
                )
            }),
            Endpoint::Metrics => {
                let accept = request.headers().get_all(ACCEPT);
                let exposition =
                    Exposition::from_accept(accept.iter().filter_map(|value| value.to_str().ok()));
                let options = self.config.prometheus.clone();
                self.render(move || {
                    let vars = collect(registry.snapshot(), deadline);
                    let mut response = match exposition {
                        Exposition::Text(format) => {
                            let options = options.format(format);
                            let text = render(&vars, text_document(&options, vars.len()));
                            with_type(StatusCode::OK, format.content_type(), text)
                        }
                        Exposition::Protobuf => {
                            let bytes = render(&vars, protobuf_document(&options, vars.len()));
                            with_type(StatusCode::OK, PROTOBUF_CONTENT_TYPE, bytes)
                        }
                    };
                    // The body depends on `Accept`: caches must not mix the formats.
                    response
                        .headers_mut()
                        .insert(VARY, HeaderValue::from_static("Accept"));
                    response
                })
            }
            Endpoint::Hardware(resource) => {
                let config = Arc::clone(&self.config);
                // Disk figures read the mount table and ask each file system.
                self.render(move || {
                    let report = hardware::report(resource, &config.hardware);
                    let status = StatusCode::from_u16(report.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let mut response = with_type(status, JSON, report.body.to_string());
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        response
                            .headers_mut()
                            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                    }
                    response
                })
            }
            Endpoint::Health if health::has_checks() => Reply::Health,
            // Without checks there is nothing to wait for: answered in place (the
            // objectives' verdict is read, not computed).
            Endpoint::Health => Reply::Now(health::response(&Ok(()), self.objective_verdict())),
            // A few lines of text per objective from what they promise: in place.
            Endpoint::ObjectiveRules => Reply::Now(with_type(
                StatusCode::OK,
                YAML,
                rules_yaml(&specs(&self.config.registry), time_scale()),
            )),
            Endpoint::Dashboard => Reply::Now(with_type(StatusCode::OK, HTML, PAGE.clone())),
            Endpoint::DashboardEvents => Reply::Now(dashboard::open(
                &self.dashboard,
                &self.streams,
                request.method() == Method::HEAD,
            )),
            // Cheap (a table lookup), so answered in place and not counted.
            Endpoint::DashboardAck => {
                Reply::Now(dashboard::ack(&self.streams, request.uri().query()))
            }
            Endpoint::ProfileIndex => {
                Reply::Now(with_type(StatusCode::OK, HTML, super::pprof::index()))
            }
            // A heap dump writes and reads a file: off the async thread.
            #[cfg(feature = "heap-profile")]
            Endpoint::HeapProfile => self.render(|| match super::pprof::heap::profile() {
                Ok(profile) => with_type(StatusCode::OK, "application/octet-stream", profile),
                Err(reason) => with_type(StatusCode::SERVICE_UNAVAILABLE, TEXT, reason + "\n"),
            }),
            #[cfg(feature = "pprof")]
            Endpoint::Profile => match super::pprof::cpu::prepare(request.uri().query()) {
                Ok(job) => Reply::Profile(job),
                Err(super::pprof::cpu::Refusal::BadRequest(message)) => {
                    Reply::Now(with_type(StatusCode::BAD_REQUEST, TEXT, message))
                }
                Err(super::pprof::cpu::Refusal::Busy) => Reply::Now(plain(
                    StatusCode::CONFLICT,
                    "409 conflict: a profile is already running\n",
                )),
            },
        }
    }

    /// The reply as a future: rendering and readiness checks run on pool threads, a
    /// profile on a thread of its own.
    fn reply_future<B>(&self, request: &Request<B>) -> ResponseFuture {
        let (done, waiting) = oneshot::channel();
        let started = match self.dispatch(request) {
            Reply::Now(response) => return ResponseFuture(Pending::Ready(Some(response))),
            Reply::Render(render, permit) => pool::spawn(move || {
                let response = render();
                // The place is given back when the work ends, not when the client
                // leaves: it bounds the threads rendering.
                drop(permit);
                let _ = done.send(response);
            }),
            Reply::Health => {
                let config = Arc::clone(&self.config);
                health::when_ready(self.config.readiness_deadline, move |readiness| {
                    let objectives =
                        health::objective_verdict(&config.registry, config.objective_health);
                    let _ = done.send(health::response(readiness, objectives));
                });
                Ok(())
            }
            #[cfg(feature = "pprof")]
            // The client leaving drops the response future and `waiting` with it: the
            // profile stops then, freeing the only slot.
            Reply::Profile(job) => std::thread::Builder::new()
                .name("expvar-pprof".into())
                .spawn(move || {
                    let response = job.run_while(|| !done.is_closed());
                    let _ = done.send(response);
                })
                .map(drop),
        };
        match started {
            Ok(()) => ResponseFuture(Pending::Waiting(waiting)),
            Err(error) => ResponseFuture(Pending::Ready(Some(with_type(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                format!("503 no thread to answer: {error}\n"),
            )))),
        }
    }

    fn objective_verdict(&self) -> (Vec<String>, bool) {
        health::objective_verdict(&self.config.registry, self.config.objective_health)
    }

    /// Whether `path` is this service's `/status/health`.
    pub(crate) fn is_health(&self, path: &str) -> bool {
        self.route(path) == Some(Endpoint::Health)
    }

    fn route(&self, path: &str) -> Option<Endpoint> {
        let relative = match path.strip_prefix(self.config.prefix.as_str()) {
            Some(relative) => relative,
            None if self.config.mounted => path,
            None => return None,
        };
        match relative {
            "/debug/vars" => Some(Endpoint::Vars),
            "/metrics" => Some(Endpoint::Metrics),
            "/debug/dashboard" | "/debug/dashboard/" => Some(Endpoint::Dashboard),
            "/debug/dashboard/events" => Some(Endpoint::DashboardEvents),
            "/debug/dashboard/events/ack" => Some(Endpoint::DashboardAck),
            "/status/health" => Some(Endpoint::Health),
            "/debug/objectives/rules.yml" => Some(Endpoint::ObjectiveRules),
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
}

/// The future of an [`ExpvarService`] response: ready at once for a static page or a
/// refusal, else when the worker thread that renders it is done.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture(Pending);

enum Pending {
    Ready(Option<Response<Body>>),
    Waiting(oneshot::Receiver<Response<Body>>),
}

impl ResponseFuture {
    pub(crate) fn ready(response: Response<Body>) -> Self {
        ResponseFuture(Pending::Ready(Some(response)))
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Pending::Ready(response) => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
            Pending::Waiting(waiting) => Pin::new(waiting).poll(cx).map(|done| {
                Ok(done.unwrap_or_else(|_| {
                    plain(StatusCode::INTERNAL_SERVER_ERROR, "500 rendering failed\n")
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
    use hyper::header::CONTENT_TYPE;

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

        // Mounted: a router that strips the mount point hands over relative paths.
        assert_eq!(get(&service, "/metrics", None).status(), StatusCode::OK);

        assert_eq!(
            get(&service, "/admin/nope", None).status(),
            StatusCode::NOT_FOUND
        );
        let post = service.respond(&Request::post("/admin/metrics").body(()).unwrap());
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
