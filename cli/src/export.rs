//! `expvar export`: a Prometheus exporter for a fleet.
//!
//! The fleet is a [`Registry`] of two variables (see [`bridge`](crate::bridge)) served by
//! the library's own server, so the bridge holds like any debug endpoint: request headers
//! within a timeout, a connection cap that sheds connections that have not sent a
//! request, a limit on documents rendered at once, health that never waits.
//!
//! A scrape reads every target at once, each within the timeout and the [`Limits`]; a
//! target that does not answer is `expvar_target_up 0`. Scrapes share reads: one round
//! of reads answers every scrape that arrives while it runs or within `max_age` after,
//! so fifty concurrent scrapes read each target once.
//!
//! The same registry can be pushed, with the library's pushers: to a Prometheus
//! remote-write store ([`expvar::RemoteWrite`]) and to an OTLP receiver
//! ([`expvar::Otlp`]), each push a round of reads.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use expvar::push::PushHandle;
use expvar::{Otlp, Registry, RemoteWrite, ServerBuilder};

use crate::bridge::{publish, Source, Sources};
use crate::fetch::{fetch_all, FetchError};
use crate::limits::Limits;
use crate::target::{Auth, Target};
use crate::targets_file::Targets;

/// The default of `--max-age`: how long one round of reads answers later scrapes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1);
/// The most connections the bridge serves at once by default, if the descriptor limit
/// allows (see [`default_max_connections`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Where `/metrics` is served unless the bridge only pushes.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9500";

/// What `expvar export` was asked to do.
pub struct Config {
    /// `None`: [`DEFAULT_LISTEN`], unless the bridge pushes.
    pub listen: Option<String>,
    pub targets: Vec<Target>,
    pub targets_file: Option<PathBuf>,
    pub default_auth: Option<Auth>,
    pub timeout: Duration,
    pub limits: Limits,
    pub max_age: Duration,
    /// `None`: [`default_max_connections`].
    pub max_connections: Option<usize>,
    pub push: Push,
}

/// Where and how the bridge pushes.
#[derive(Debug, Clone)]
pub struct Push {
    /// A Prometheus remote-write URL.
    pub remote_write: Option<String>,
    /// An OTLP/HTTP metrics URL.
    pub otlp: Option<String>,
    pub interval: Duration,
    /// Labels on every pushed series.
    pub labels: Vec<(String, String)>,
    /// More trusted CAs for `https://` push URLs.
    pub ca_file: Option<PathBuf>,
}

impl Push {
    /// Starts the pushers asked for, of `registry`; a round of reads takes up to
    /// `timeout`, which the render deadline allows for.
    fn start(
        &self,
        registry: &Arc<Registry>,
        timeout: Duration,
    ) -> Result<Vec<PushHandle>, String> {
        let deadline = timeout + Duration::from_secs(1);
        let mut pushers = Vec::new();
        if let Some(url) = &self.remote_write {
            let mut pusher = RemoteWrite::new(url)
                .registry(Arc::clone(registry))
                .interval(self.interval)
                .render_deadline(deadline);
            for (name, value) in &self.labels {
                pusher = pusher.label(name, value);
            }
            if let Some(ca_file) = &self.ca_file {
                pusher = pusher.ca_file(ca_file);
            }
            let pusher = pusher
                .start()
                .map_err(|error| format!("--remote-write: {error}"))?;
            println!("pushing to {url} every {:?}", self.interval);
            pushers.push(pusher);
        }
        if let Some(url) = &self.otlp {
            let mut pusher = Otlp::new(url)
                .registry(Arc::clone(registry))
                .service_name("expvar-export")
                .interval(self.interval)
                .render_deadline(deadline);
            for (name, value) in &self.labels {
                pusher = pusher.label(name, value);
            }
            if let Some(ca_file) = &self.ca_file {
                pusher = pusher.ca_file(ca_file);
            }
            let pusher = pusher.start().map_err(|error| format!("--otlp: {error}"))?;
            println!("pushing OTLP to {url} every {:?}", self.interval);
            pushers.push(pusher);
        }
        Ok(pushers)
    }
}

/// The rounds of reads of the targets, shared by every scrape.
pub struct Rounds {
    targets: Mutex<Targets>,
    timeout: Duration,
    limits: Limits,
    max_age: Duration,
    runtime: tokio::runtime::Runtime,
    state: Mutex<RoundState>,
    finished: Condvar,
}

#[derive(Default)]
struct RoundState {
    /// The last round's documents and when it finished.
    latest: Option<(Instant, Arc<Vec<Source>>)>,
    running: bool,
    /// Rounds finished, so a waiting scrape knows when the running one is done.
    finished: u64,
}

impl Rounds {
    /// Rounds over `targets`, each target read within `timeout` and `limits`.
    pub fn new(
        targets: Targets,
        timeout: Duration,
        limits: Limits,
        max_age: Duration,
    ) -> std::io::Result<Rounds> {
        Ok(Rounds {
            targets: Mutex::new(targets),
            timeout,
            limits,
            max_age,
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("expvar-fetch")
                .enable_all()
                .build()?,
            state: Mutex::default(),
            finished: Condvar::new(),
        })
    }

    /// Reads every target once, now.
    fn read(&self) -> Vec<Source> {
        let targets = lock(&self.targets).current();
        let list: Vec<Target> = targets.iter().map(|named| named.target.clone()).collect();
        let fetched = self
            .runtime
            .block_on(fetch_all(&list, self.timeout, self.limits));
        targets
            .iter()
            .zip(fetched)
            .map(|(named, fetched)| Source {
                name: named.name.clone(),
                labels: named.target.labels.clone(),
                over_limit: match &fetched.result {
                    Err(FetchError::TooLarge(over)) => Some(*over),
                    _ => None,
                },
                doc: fetched.result.ok(),
                duration: fetched.duration,
            })
            .collect()
    }
}

impl Sources for Rounds {
    /// The latest round if it is recent enough, else the running round once it is done,
    /// else a new round read on this thread (a render thread of the server).
    fn sources(&self) -> Arc<Vec<Source>> {
        let mut state = lock(&self.state);
        if let Some((at, sources)) = &state.latest {
            if at.elapsed() <= self.max_age {
                return Arc::clone(sources);
            }
        }
        if state.running {
            let before = state.finished;
            while state.finished == before {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if let Some((_, sources)) = &state.latest {
                return Arc::clone(sources);
            }
        }
        state.running = true;
        drop(state);
        let round = RoundGuard(self);
        let sources = Arc::new(self.read());
        lock(&self.state).latest = Some((Instant::now(), Arc::clone(&sources)));
        drop(round);
        sources
    }
}

/// Ends the running round however reading ends, so waiting scrapes never wait forever.
struct RoundGuard<'a>(&'a Rounds);

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.running = false;
        state.finished += 1;
        self.0.finished.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each is changed in single steps, which a panic cannot leave half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The connection cap when `--max-connections` is not given: [`DEFAULT_MAX_CONNECTIONS`],
/// or half the descriptors this process may open if that is less, leaving the rest for
/// the connections to the targets. The soft descriptor limit is raised to the hard one
/// first, as Go does at start.
pub fn default_max_connections() -> usize {
    (descriptor_limit() / 2).clamp(16, DEFAULT_MAX_CONNECTIONS)
}

#[cfg(unix)]
fn descriptor_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes the struct it is given and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return DEFAULT_MAX_CONNECTIONS;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            ..limit
        };
        // SAFETY: `setrlimit` reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

#[cfg(not(unix))]
fn descriptor_limit() -> usize {
    usize::MAX
}

/// Serves `/metrics`, pushes, or both, until the process is stopped.
pub fn run(config: Config) -> Result<(), String> {
    let file = config
        .targets_file
        .map(|path| (path, config.default_auth.clone()));
    let targets = Targets::new(config.targets, file)?;
    let rounds = Rounds::new(targets, config.timeout, config.limits, config.max_age)
        .map_err(|error| format!("cannot start the fetcher: {error}"))?;
    let registry = Arc::new(Registry::new());
    publish(&registry, Arc::new(rounds));
    let pushing = config.push.remote_write.is_some() || config.push.otlp.is_some();
    let listen = match (config.listen, pushing) {
        (Some(listen), _) => Some(listen),
        (None, false) => Some(DEFAULT_LISTEN.to_owned()),
        (None, true) => None,
    };
    let _server = match listen {
        Some(listen) => {
            let max_connections = config
                .max_connections
                .unwrap_or_else(default_max_connections);
            let server = ServerBuilder::new()
                .addr(&listen)
                .registry(Arc::clone(&registry))
                // A round takes up to the timeout: the document waits that long for it.
                .render_deadline(config.timeout + Duration::from_secs(1))
                .max_connections(max_connections)
                .start()
                .map_err(|error| error.to_string())?;
            println!("serving http://{}/metrics", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let _pushers = config.push.start(&registry, config.timeout)?;
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// A target on loopback that answers every request with `{"n": <count>}`, after
    /// `delay`, and counts the requests.
    fn counting_target(delay: Duration) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let n = counted.fetch_add(1, SeqCst) + 1;
                std::thread::spawn(move || {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    std::thread::sleep(delay);
                    let body = format!("{{\"n\": {n}}}");
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        (addr, count)
    }

    fn rounds(addr: &str, max_age: Duration) -> Arc<Rounds> {
        let target = Target::parse(addr, None).unwrap();
        let targets = Targets::new(vec![target], None).unwrap();
        Arc::new(Rounds::new(targets, Duration::from_secs(30), Limits::default(), max_age).unwrap())
    }

    #[test]
    fn concurrent_scrapes_share_one_round_of_reads() {
        let (addr, reads) = counting_target(Duration::from_millis(500));
        let rounds = rounds(&addr, Duration::ZERO);
        let scrapes: Vec<_> = (0..50)
            .map(|_| {
                let rounds = Arc::clone(&rounds);
                std::thread::spawn(move || rounds.sources())
            })
            .collect();
        let results: Vec<_> = scrapes.into_iter().map(|s| s.join().unwrap()).collect();
        for sources in &results {
            assert!(sources[0].doc.is_some());
        }
        // The scrapes that came while a round ran waited for it: a few rounds at most,
        // however the threads were scheduled, never one per scrape.
        let reads = reads.load(SeqCst);
        assert!(reads < 10, "{reads} reads for 50 concurrent scrapes");
        // With max_age 0 a later scrape reads again.
        rounds.sources();
        assert_eq!(rounds.sources()[0].doc.as_ref().unwrap()["n"], reads + 2);
    }

    #[test]
    fn a_round_answers_scrapes_within_max_age() {
        let (addr, reads) = counting_target(Duration::ZERO);
        let rounds = rounds(&addr, Duration::from_secs(3600));
        for _ in 0..5 {
            assert_eq!(rounds.sources()[0].doc.as_ref().unwrap()["n"], 1);
        }
        assert_eq!(reads.load(SeqCst), 1);
    }
}
