//! The debug endpoints as a service: routing and responses, independent of how
//! connections are accepted, so the same service runs in our server or in a user's app.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

use super::auth::Auth;
use crate::encode::prometheus::{PrometheusFormat, PrometheusOptions};

/// The response body type of [`ExpvarService`].
pub type Body = Full<Bytes>;

const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The debug endpoints as a hyper (and, with the `tower` feature, tower) service, for
/// mounting in an application's own server (Go's `http.Handle("/debug/vars", expvar.Handler())`).
///
/// Serves `GET`/`HEAD` `{prefix}/debug/vars` (JSON) and `{prefix}/metrics` (Prometheus
/// text format 0.0.4, or OpenMetrics 1.0 when the `Accept` header asks for it); other methods get 405 with `Allow`, other
/// paths 404. With credentials configured, requests without them get 401.
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
}

#[derive(Debug, Default)]
pub(crate) struct ServiceConfig {
    /// Prepended to every endpoint path; empty or `/`-led without a trailing `/`.
    pub(crate) prefix: String,
    pub(crate) auth: Option<Auth>,
    /// Namespace, constant labels and version for `/metrics`; the format is negotiated.
    pub(crate) prometheus: PrometheusOptions,
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Vars,
    Metrics,
}

impl ExpvarService {
    pub(crate) fn new(config: ServiceConfig) -> Self {
        ExpvarService {
            config: Arc::new(config),
        }
    }

    /// Answers one request. The request body is never read.
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Body> {
        let Some(endpoint) = self.route(request.uri().path()) else {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n");
        };
        if let Some(auth) = &self.config.auth {
            if !auth.allows(request.headers()) {
                let mut response = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, auth.challenge());
                return response;
            }
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match endpoint {
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
        }
    }

    fn route(&self, path: &str) -> Option<Endpoint> {
        match path.strip_prefix(self.config.prefix.as_str())? {
            "/debug/vars" => Some(Endpoint::Vars),
            "/metrics" => Some(Endpoint::Metrics),
            _ => None,
        }
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
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Live data: a cached copy is a wrong copy.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl<B> hyper::service::Service<Request<B>> for ExpvarService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}

#[cfg(feature = "tower")]
impl<B> tower_service::Service<Request<B>> for ExpvarService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
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
