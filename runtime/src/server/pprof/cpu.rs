//! `/debug/pprof/profile`: a CPU profile of the whole process for `?seconds=N`, in
//! pprof's protobuf format (for `go tool pprof`) or as a flame graph (`?format=svg`).
//! Behind the `pprof` feature; sampling is done by the `pprof` crate.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use pprof::protos::Message as _;

use crate::server::http::Body;

/// Profile length when `seconds` is not given (Go's default).
pub(crate) const DEFAULT_SECONDS: u64 = 30;
/// The longest profile accepted.
pub(crate) const MAX_SECONDS: u64 = 300;
/// Samples per second (Go's default rate).
const FREQUENCY: i32 = 100;

/// What the request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// pprof's protobuf `Profile`, uncompressed.
    Proto,
    /// An SVG flame graph.
    Svg,
}

/// A validated profile request that holds the only profiling slot.
#[derive(Debug)]
pub(crate) struct Job {
    seconds: u64,
    format: Format,
    _slot: Slot,
}

/// Why a profile request was refused before it started.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A malformed parameter: 400 with the message.
    BadRequest(String),
    /// A profile is already running: 409.
    Busy,
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// The one profiling slot: the process has one profiling timer, so one profile at a time.
#[derive(Debug)]
struct Slot;

impl Slot {
    fn acquire() -> Option<Slot> {
        // A `Slot` is made only on success: dropping one frees the slot, so building it
        // eagerly (`then_some`) would free the running profile's slot on a refusal.
        if RUNNING
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
        {
            Some(Slot)
        } else {
            None
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.store(false, Release);
    }
}

/// Validates the query (`seconds`, `format`; other keys are ignored, as in Go) and takes
/// the profiling slot.
pub(crate) fn prepare(query: Option<&str>) -> Result<Job, Refusal> {
    let mut seconds = DEFAULT_SECONDS;
    let mut format = Format::Proto;
    for pair in query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "seconds" => {
                seconds = value
                    .parse()
                    .ok()
                    .filter(|seconds| (1..=MAX_SECONDS).contains(seconds))
                    .ok_or_else(|| {
                        Refusal::BadRequest(format!(
                            "bad seconds {value:?}: want a whole number from 1 to {MAX_SECONDS}\n"
                        ))
                    })?;
            }
            "format" => {
                format = match value {
                    "" | "proto" | "pprof" => Format::Proto,
                    "svg" | "flamegraph" => Format::Svg,
                    _ => {
                        return Err(Refusal::BadRequest(format!(
                            "bad format {value:?}: want proto, svg or flamegraph\n"
                        )))
                    }
                };
            }
            _ => {}
        }
    }
    let slot = Slot::acquire().ok_or(Refusal::Busy)?;
    Ok(Job {
        seconds,
        format,
        _slot: slot,
    })
}

/// How often a running profile looks whether its client is still there.
const ABANDON_CHECK: Duration = Duration::from_millis(100);

impl Job {
    /// Profiles for the requested time, blocking the calling thread, and builds the
    /// response.
    pub(crate) fn run(self) -> Response<Body> {
        self.run_while(|| true)
    }

    /// As [`run`](Self::run), but stops early, freeing the profiling slot, as soon as
    /// `wanted` says the response is no longer wanted (the client left): a client that
    /// asks for 300 s and disconnects must not hold the only slot that long.
    pub(crate) fn run_while(self, wanted: impl Fn() -> bool) -> Response<Body> {
        match self.profile(&wanted) {
            Ok(None) => {
                // No sample in the whole profile (an idle process): no flame to draw.
                let mut response = Response::new(Body::new(Full::new(Bytes::new())));
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Ok(Some((content_type, body))) => {
                let mut response = Response::new(Body::new(Full::new(Bytes::from(body))));
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if self.format == Format::Proto {
                    headers.insert(
                        CONTENT_DISPOSITION,
                        HeaderValue::from_static("attachment; filename=\"profile\""),
                    );
                }
                response
            }
            Err(message) => {
                let mut response = Response::new(Body::new(Full::new(Bytes::from(message))));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        }
    }

    /// The profile as `(content type, body)`; `None` for a flame graph of no samples.
    fn profile(
        &self,
        wanted: &dyn Fn() -> bool,
    ) -> Result<Option<(&'static str, Vec<u8>)>, String> {
        let failed = |error: &dyn std::fmt::Display| format!("profiling failed: {error}\n");
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            // Unwinding through these from a signal handler can deadlock (see the pprof
            // crate's README).
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(|error| failed(&error))?;
        let until = std::time::Instant::now() + Duration::from_secs(self.seconds);
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            if !wanted() {
                return Err("profile abandoned: the client left\n".into());
            }
            std::thread::sleep(left.min(ABANDON_CHECK));
        }
        let report = guard.report().build().map_err(|error| failed(&error))?;
        drop(guard);
        match self.format {
            Format::Proto => {
                let profile = report.pprof().map_err(|error| failed(&error))?;
                Ok(Some(("application/octet-stream", profile.encode_to_vec())))
            }
            Format::Svg => {
                if report.data.is_empty() {
                    return Ok(None);
                }
                let mut svg = Vec::new();
                report
                    .flamegraph(&mut svg)
                    .map_err(|error| failed(&error))?;
                Ok(Some(("image/svg+xml", svg)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(query: &str) -> bool {
        matches!(prepare(Some(query)), Err(Refusal::BadRequest(_)))
    }

    /// The slot is the process's: tests that take it take turns.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn a_refused_request_leaves_the_running_profile_its_slot() {
        let _serial = serial();
        let running = prepare(Some("seconds=1")).unwrap();
        assert_eq!(prepare(Some("seconds=1")).unwrap_err(), Refusal::Busy);
        // The refusal above must not have freed the slot the running job holds.
        assert_eq!(prepare(Some("seconds=1")).unwrap_err(), Refusal::Busy);
        drop(running);
        assert!(prepare(Some("seconds=1")).is_ok());
    }

    #[test]
    fn an_abandoned_profile_stops_and_frees_its_slot() {
        let _serial = serial();
        let job = prepare(Some("seconds=300")).unwrap();
        let started = std::time::Instant::now();
        let response = job.run_while(|| false);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(started.elapsed() < Duration::from_secs(60));
        assert!(prepare(Some("seconds=1")).is_ok());
    }

    #[test]
    fn validates_parameters() {
        assert!(bad("seconds=0"));
        assert!(bad("seconds=-1"));
        assert!(bad("seconds=1.5"));
        assert!(bad("seconds=abc"));
        assert!(bad("seconds="));
        assert!(bad("seconds=301"));
        assert!(bad("format=png"));
    }
}
