//! Serving the debug endpoints: [`serve`], [`ServerBuilder`] and the mountable
//! [`ExpvarService`]; the readiness checks behind `/status/health`
//! ([`add_readiness_check`]), the thresholds of `/status/hardware/*` ([`Thresholds`]),
//! and what the server counts ([`render_timeouts`]).

mod accept;
mod auth;
mod dashboard;
mod handle;
mod http;
mod pprof;
mod service;
mod status;
mod write_timeout;

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use crate::capture::render_timeouts;
use crate::registry::RegistryRef;
pub use handle::{ServeError, ServerHandle};
pub use http::Body;
pub use service::{ExpvarService, ResponseFuture};
use service::{ServiceConfig, DEFAULT_WRITE_TIMEOUT};
use status::hardware;
pub use status::hardware::{Hardware, Thresholds};
pub use status::health::{
    add_readiness_check, check_readiness, remove_readiness_check, ObjectiveHealth,
};

/// The address [`serve`] uses when `EXPVAR_ADDR` is not set: loopback, Go's pprof port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6060";
/// The environment variable that overrides [`DEFAULT_ADDR`] for [`serve`].
pub const ADDR_ENV: &str = "EXPVAR_ADDR";

/// Starts serving `/debug/vars` on a background thread (Go's `go http.ListenAndServe`).
///
/// Listens on `EXPVAR_ADDR` if set, else [`DEFAULT_ADDR`] (`127.0.0.1:6060`). The server
/// runs on its own thread with its own small tokio runtime, so a plain synchronous
/// `main` works; it stops when the returned handle is dropped or shut down. Use
/// [`ServerBuilder`] for the address, a path prefix, credentials and limits.
///
/// ```no_run
/// let _server = expvar::serve().expect("debug endpoint");
/// // ... the program's work; `curl 127.0.0.1:6060/debug/vars` meanwhile.
/// ```
pub fn serve() -> Result<ServerHandle, ServeError> {
    ServerBuilder::from_env().start()
}

/// Configures and starts a debug server, or builds a mountable [`ExpvarService`].
///
/// Defaults keep a debug endpoint safe and responsive: loopback only; up to 1024 open
/// connections (when all are taken, a newcomer takes the place of the oldest connection
/// waiting for a request, which is closed; only when every one is answering a request
/// are a few more answered `503` with `Retry-After`, health still served, and the rest
/// closed at once); at most 16 documents rendered at once
/// (more get `503` with `Retry-After` at once, `/status/health` is never counted);
/// 16 KiB of request headers read within 10 seconds, which also closes a keep-alive
/// connection idle that long (a client that trickles bytes is dropped); request bodies
/// never read; a client whose writes have waited 30 seconds disconnected, as is a
/// dashboard whose page has not acknowledged an event for 30 seconds; at most 8
/// live dashboards; a variable that has not rendered within 2 seconds left out.
///
/// ```
/// let server = expvar::ServerBuilder::new()
///     .addr("127.0.0.1:0")
///     .prefix("/admin")
///     .bearer_token("s3cret")
///     .start()
///     .expect("bind");
/// println!("serving on http://{}/admin/debug/vars", server.local_addr());
/// server.shutdown();
/// ```
#[derive(Debug)]
pub struct ServerBuilder {
    addr: String,
    config: ServiceConfig,
    max_connections: usize,
    header_read_timeout: Duration,
    write_timeout: Duration,
    max_header_bytes: usize,
    /// An option given a value the server cannot work with: `(option, reason)`.
    invalid: Option<(&'static str, &'static str)>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder::new()
    }
}

impl ServerBuilder {
    /// A builder with the defaults, listening on [`DEFAULT_ADDR`]. It reads no
    /// environment variable; [`from_env`](Self::from_env) does.
    pub fn new() -> Self {
        ServerBuilder {
            addr: DEFAULT_ADDR.to_owned(),
            config: ServiceConfig::default(),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_header_bytes: 16 * 1024,
            invalid: None,
        }
    }

    /// A builder with the defaults, listening on `EXPVAR_ADDR` if set, else
    /// [`DEFAULT_ADDR`]: what [`serve`] uses.
    pub fn from_env() -> Self {
        match std::env::var(ADDR_ENV) {
            Ok(addr) => ServerBuilder::new().addr(addr),
            Err(_) => ServerBuilder::new(),
        }
    }

    /// Serves `registry` instead of the global one: a [`Registry`](crate::Registry)
    /// in an `Arc`, or a `&'static` one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use expvar::{Counter, Registry, ServerBuilder};
    ///
    /// let registry = Arc::new(Registry::new());
    /// registry.publish("jobs", Arc::new(Counter::new())).unwrap();
    /// let server = ServerBuilder::new().addr("127.0.0.1:0").registry(registry).start().unwrap();
    /// // http://{server.local_addr()}/debug/vars now shows {"jobs": 0} and nothing else.
    /// server.shutdown();
    /// ```
    pub fn registry(mut self, registry: impl Into<RegistryRef>) -> Self {
        self.config.registry = registry.into();
        self
    }

    /// The address to listen on, such as `"127.0.0.1:6060"`; port 0 picks a free port
    /// (see [`ServerHandle::local_addr`]).
    pub fn addr(mut self, addr: impl fmt::Display) -> Self {
        self.addr = addr.to_string();
        self
    }

    /// Serves the endpoints under `prefix`: `.prefix("/admin")` serves `/admin/debug/vars`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim_end_matches('/');
        self.config.prefix = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Prepends `namespace_` to the names of variables at `/metrics` (see
    /// [`PrometheusOptions::namespace`](crate::prometheus::PrometheusOptions::namespace)).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.config.prometheus = self.config.prometheus.namespace(namespace);
        self
    }

    /// Adds the label `name="value"` to every series at `/metrics`, such as
    /// `.const_label("service", "api")`.
    ///
    /// [`start`](Self::start) fails with [`ServeError::InvalidOption`] naming
    /// `const_label` for a name in
    /// [`RESERVED_LABELS`](crate::prometheus::RESERVED_LABELS) (`key`, `le`, ...), or
    /// the name of a label a published variable writes, such as a
    /// `Map::with_label("route")`. A variable published later with such a label keeps
    /// its series, the label written as `exported_route`, and is logged.
    ///
    /// ```
    /// static ROUTES: expvar::Map<expvar::Counter> = expvar::Map::with_label("doc_route");
    /// expvar::publish("doc_requests", &ROUTES).unwrap();
    /// let refused = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .const_label("doc_route", "x")
    ///     .start();
    /// assert!(refused.unwrap_err().to_string().contains("doc_requests"));
    /// ```
    pub fn const_label(mut self, name: &str, value: &str) -> Self {
        self.config.prometheus = self.config.prometheus.const_label(name, value);
        self
    }

    /// The `version` label of `build_info` at `/metrics`:
    /// `.version(env!("CARGO_PKG_VERSION"))`.
    pub fn version(mut self, version: &str) -> Self {
        self.config.prometheus = self.config.prometheus.version(version);
        self
    }

    /// Requires HTTP Basic credentials.
    ///
    /// A request must carry them in exactly one `Authorization` header (for either kind
    /// of credentials): one with several is refused with `400`, so a request cannot try
    /// many guesses.
    ///
    /// An empty password, or a user name with `:`, makes [`start`](Self::start) fail
    /// with [`ServeError::InvalidOption`] naming `basic_auth`.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.set_auth("basic_auth", auth::Auth::basic(user, password));
        self
    }

    /// Requires `Authorization: Bearer <token>` (the scheme in any case, per RFC 7235).
    ///
    /// Whitespace around the token is ignored (no header can carry it). An empty or
    /// blank token makes [`start`](Self::start) fail with [`ServeError::InvalidOption`]
    /// naming `bearer_token`.
    ///
    /// ```
    /// let refused = expvar::ServerBuilder::new().addr("127.0.0.1:0").bearer_token(" ").start();
    /// assert!(refused.unwrap_err().to_string().contains("bearer_token"));
    /// ```
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.set_auth("bearer_token", auth::Auth::bearer(token));
        self
    }

    fn set_auth(&mut self, option: &'static str, auth: Result<auth::Auth, &'static str>) {
        match auth {
            Ok(auth) => {
                self.config.auth = Some(auth);
                self.invalid = self.invalid.filter(|(invalid, _)| *invalid != option);
            }
            Err(reason) => self.invalid = Some((option, reason)),
        }
    }

    /// How long a document waits for a variable that may block (default 2 s).
    ///
    /// Counters, gauges, floats, strings, histograms and maps of them are written in
    /// place. Any other variable (a [`Func`](crate::Func), a derived struct, process
    /// statistics) is rendered on a worker thread; if it has not answered within the
    /// deadline it is `null` in `/debug/vars`, left out of `/metrics` and the dashboard,
    /// counted in [`render_timeouts`] and logged once, and the
    /// rest is served. While its late render still runs it is not started again, and a
    /// document waits on it only for what is left of its deadline (counted from when it
    /// started): a hung variable costs one deadline, then is left out at once.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .render_deadline(Duration::from_millis(500))
    ///     .start()
    ///     .expect("bind");
    /// server.shutdown();
    /// ```
    pub fn render_deadline(mut self, deadline: Duration) -> Self {
        self.config.render_deadline = deadline;
        self
    }

    /// How long `/status/health` waits for the
    /// [readiness checks](crate::server::add_readiness_check) (default 1 s); a check that has
    /// not answered by then fails with that reason.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .readiness_deadline(Duration::from_millis(300))
    ///     .start()
    ///     .expect("bind");
    /// server.shutdown();
    /// ```
    pub fn readiness_deadline(mut self, deadline: Duration) -> Self {
        self.config.readiness_deadline = deadline;
        self
    }

    /// What `/status/health` answers while one of the registry's
    /// [objectives](crate::objectives) alerts: `200` with `degraded` and the reasons by
    /// default, `503` for a page alert with [`ObjectiveHealth::Unavailable`], nothing
    /// with [`ObjectiveHealth::Ignore`].
    ///
    /// ```
    /// use expvar::server::ObjectiveHealth;
    ///
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .objective_health(ObjectiveHealth::Unavailable)
    ///     .start()
    ///     .expect("bind");
    /// server.shutdown();
    /// ```
    pub fn objective_health(mut self, policy: ObjectiveHealth) -> Self {
        self.config.objective_health = policy;
        self
    }

    /// The most documents (`/debug/vars`, `/metrics`, `/status/hardware/*`) rendered at
    /// once (default 16); a request beyond it gets `503` with `Retry-After: 1` at once.
    /// `/status/health`, the dashboard page and its streams are not counted.
    ///
    /// ```
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .max_requests_in_flight(4)
    ///     .start()
    ///     .expect("bind");
    /// server.shutdown();
    /// ```
    pub fn max_requests_in_flight(mut self, max: usize) -> Self {
        self.config.max_requests_in_flight = max.max(1);
        self
    }

    /// Sets the percentages of use at which `/status/hardware/{disk,ram,cpu}` answers
    /// `429` (warning) and `500` (critical). The default is 90 and 95 for each.
    pub fn hardware_thresholds(mut self, resource: Hardware, thresholds: Thresholds) -> Self {
        *self.config.hardware.thresholds_mut(resource) = thresholds;
        self
    }

    /// The path whose file system `/status/hardware/disk` reports (default `/`).
    pub fn disk_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.hardware.disk_path = path.into();
        self
    }

    /// The most connections open at once, idle or not (default 1024).
    ///
    /// When all are taken, a new connection takes the place of the oldest connection
    /// that is waiting for a request (it has not sent a complete request yet, or is idle
    /// between requests), which is closed: stalled clients cannot lock out a load
    /// balancer's probe, however many there are. Only when every connection is answering
    /// a request (dashboards, long renders) is a new one refused: still accepted and
    /// answered, `503` with `Retry-After` (`/status/health` normally), then closed. Up to
    /// a quarter more are treated so; past that a connection is closed at once, so
    /// descriptors stay bounded.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The most live dashboards served at once (default 8); more get `503`.
    ///
    /// Every open dashboard holds one connection and one event stream; they all share
    /// one sampler, so the cap bounds memory and bandwidth, not registry reads.
    ///
    /// ```
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .max_dashboard_clients(2)
    ///     .start()
    ///     .expect("bind");
    /// println!("dashboard at http://{}/debug/dashboard", server.local_addr());
    /// server.shutdown();
    /// ```
    pub fn max_dashboard_clients(mut self, max: usize) -> Self {
        self.config.dashboard.max_clients = max;
        self
    }

    /// How long a client may take to send a request's headers (default 10 s); also how
    /// long a keep-alive connection may stay idle between requests.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a write may wait for the client to read (default 30 s; for dashboard
    /// streams at least 2 s).
    ///
    /// A connection whose write has waited that long is closed. The server keeps its
    /// send buffer small (16 KiB), but a write only waits once the client's receive
    /// buffer is full too (typically 64-128 KiB on Linux), which one small sample a
    /// second takes minutes to fill. So a dashboard's page also acknowledges the events
    /// it receives, and a stream with an event unacknowledged for this long (a frozen
    /// tab, a client that reads nothing) is ended and its dashboard place freed: within
    /// the timeout of the stream opening or of the event being sent, whatever the
    /// buffers hold. A service from [`service`](Self::service) applies it to dashboard
    /// streams only (the connections are the hosting server's).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = expvar::ServerBuilder::new()
    ///     .addr("127.0.0.1:0")
    ///     .write_timeout(Duration::from_secs(5))
    ///     .start()
    ///     .expect("bind");
    /// server.shutdown();
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self.config.dashboard.ack_timeout = timeout;
        self
    }

    /// The most bytes of request headers accepted (default 16 KiB; at least 8 KiB).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8 * 1024);
        self
    }

    /// The endpoints as a service with this builder's prefix and credentials, to mount
    /// in an existing server.
    ///
    /// The service serves relative to where it is mounted (see [`ExpvarService`]).
    ///
    /// # Panics
    /// If an option was given a value that cannot work (see [`ServeError::InvalidOption`]).
    pub fn service(mut self) -> ExpvarService {
        if let Some(error) = self.invalid_option() {
            panic!("{error}");
        }
        self.config.mounted = true;
        ExpvarService::new(self.config)
    }

    fn invalid_option(&self) -> Option<ServeError> {
        self.invalid
            .map(|(option, reason)| ServeError::InvalidOption {
                option,
                reason: reason.to_owned(),
            })
    }

    /// Binds and serves on a background thread with its own tokio runtime.
    ///
    /// A bind failure is returned with the address in it.
    pub fn start(self) -> Result<ServerHandle, ServeError> {
        self.validate()?;
        let listener = self.bind_std()?;
        let local_addr = listener.local_addr().map_err(ServeError::io(&self.addr))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::io(&self.addr))?;
        let (stop, stopped) = oneshot::channel();
        let addr = self.addr.clone();
        let thread = thread::Builder::new()
            .name("expvar-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => self.run(listener, stopped).await,
                        Err(error) => log::error!("expvar: cannot serve: {error}"),
                    }
                });
            })
            .map_err(ServeError::io(&addr))?;
        Ok(ServerHandle {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
            task: None,
        })
    }

    /// Binds and serves on the current tokio runtime, for programs already inside one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = expvar::ServerBuilder::new().addr("127.0.0.1:0").start_async().await.unwrap();
    /// assert!(server.local_addr().ip().is_loopback());
    /// server.shutdown_async().await;
    /// # }
    /// ```
    pub async fn start_async(self) -> Result<ServerHandle, ServeError> {
        self.validate()?;
        let listener =
            TcpListener::from_std(self.bind_std()?).map_err(ServeError::io(&self.addr))?;
        let local_addr = listener.local_addr().map_err(ServeError::io(&self.addr))?;
        let (stop, stopped) = oneshot::channel();
        let (done, finished) = oneshot::channel();
        tokio::spawn(async move {
            self.run(listener, stopped).await;
            let _ = done.send(());
        });
        Ok(ServerHandle {
            local_addr,
            stop: Some(stop),
            thread: None,
            task: Some(finished),
        })
    }

    /// Refuses options that no request could satisfy or that would serve a broken
    /// document.
    fn validate(&self) -> Result<(), ServeError> {
        if let Some(error) = self.invalid_option() {
            return Err(error);
        }
        let invalid = |reason| ServeError::InvalidOption {
            option: "const_label",
            reason,
        };
        let options = &self.config.prometheus;
        options
            .validate()
            .map_err(|error| invalid(error.to_string()))?;
        // Only what is written in place: a variable that may block is not run here.
        let mut vars = self.config.registry.snapshot();
        vars.retain(|(_, var)| !var.__may_block());
        match crate::encode::prometheus::const_label_conflict(options, &vars) {
            Some((variable, label)) => Err(invalid(format!(
                "constant label `{label}` is also a label of the variable {variable:?}, \
                 whose series would carry it as `exported_{label}`"
            ))),
            None => Ok(()),
        }
    }

    fn bind_std(&self) -> Result<std::net::TcpListener, ServeError> {
        let addrs: Vec<SocketAddr> = self
            .addr
            .to_socket_addrs()
            .map_err(ServeError::io(&self.addr))?
            .collect();
        let listener = bind(&addrs).map_err(|source| ServeError::Bind {
            addr: self.addr.clone(),
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(ServeError::io(&self.addr))?;
        let local = listener.local_addr().map_err(ServeError::io(&self.addr))?;
        if !local.ip().is_loopback() && self.config.auth.is_none() {
            log::warn!("expvar: serving on {local} without credentials: anyone who can reach it can read it");
        }
        Ok(listener)
    }

    /// Serves on `listener` until `stopped` fires.
    async fn run(self, listener: TcpListener, stopped: oneshot::Receiver<()>) {
        hardware::start_cpu_sampler();
        let limits = accept::Limits {
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            write_timeout: self.write_timeout,
            max_header_bytes: self.max_header_bytes,
        };
        accept::run(ExpvarService::new(self.config), listener, limits, stopped).await;
    }
}

/// Connections the kernel queues for the accept loop: more than std's 128, so a burst
/// of connections (an attack, or a fleet's scrapers at once) is not answered by dropped
/// SYNs and the client's one-second retry; the kernel caps it at `somaxconn`.
const LISTEN_BACKLOG: i32 = 1024;

/// A listener on the first of `addrs` that binds, as `std::net::TcpListener::bind`,
/// with a longer queue.
fn bind(addrs: &[SocketAddr]) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let mut last = None;
    for addr in addrs {
        let socket = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
        // As std does on Unix: a restarted server binds while old connections linger.
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        match socket
            .bind(&(*addr).into())
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(()) => return Ok(socket.into()),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// The mountable service with default settings (no prefix, no credentials).
///
/// See [`ExpvarService`]; [`ServerBuilder::service`] configures one.
pub fn service() -> ExpvarService {
    ServerBuilder::new().service()
}

/// The mountable service with default settings, serving `registry`.
///
/// ```
/// let registry = std::sync::Arc::new(expvar::Registry::new());
/// let service = expvar::service_for(registry);
/// # drop(service);
/// ```
pub fn service_for(registry: impl Into<RegistryRef>) -> ExpvarService {
    ServerBuilder::new().registry(registry).service()
}
