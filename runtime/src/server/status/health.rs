//! Readiness checks behind `/status/health`: the endpoint answers `200 OK` until a
//! registered check fails, then `503` with every failing check's reason; and what the
//! registry's objectives add to the answer (`degraded`, or `503` if asked).

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};

use crate::capture::pool;
use crate::objectives::{statuses, Alert};
use crate::registry::Registry;
use crate::server::http::{plain, with_type, Body, TEXT};

type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

static CHECKS: RwLock<Vec<(String, Check)>> = RwLock::new(Vec::new());

/// Registers a readiness check for `/status/health`, replacing any check of the same name.
///
/// While every check returns `Ok`, `/status/health` answers `200` with `OK`. When any
/// returns `Err(reason)` (or panics), it answers `503 Service Unavailable` with one
/// `name: reason` line per failing check, so a load balancer stops sending traffic and
/// a person can see why. The server runs the checks on worker threads, all at once,
/// when the endpoint is asked (requests that arrive meanwhile share the run); a check
/// that has not answered within the
/// [readiness deadline](crate::ServerBuilder::readiness_deadline) (default 1 s) fails
/// with that reason, and is not started again until its late run ends. Keep checks
/// quick (read a flag, compare a timestamp) and do slow probing elsewhere.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// static DATABASE_UP: AtomicBool = AtomicBool::new(false);
///
/// expvar::server::add_readiness_check("doc_database", || {
///     if DATABASE_UP.load(Ordering::Relaxed) {
///         Ok(())
///     } else {
///         Err("no connection to the database yet".to_owned())
///     }
/// });
/// assert!(expvar::server::check_readiness().is_err());
/// DATABASE_UP.store(true, Ordering::Relaxed);
/// # expvar::server::remove_readiness_check("doc_database");
/// ```
pub fn add_readiness_check<F>(name: impl Into<String>, check: F)
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    let name = name.into();
    let mut checks = CHECKS.write().unwrap_or_else(PoisonError::into_inner);
    let check: Check = Arc::new(check);
    match checks.iter_mut().find(|(existing, _)| *existing == name) {
        Some((_, existing)) => *existing = check,
        None => checks.push((name, check)),
    }
}

/// Removes the readiness check `name`; returns whether there was one.
///
/// ```
/// expvar::server::add_readiness_check("doc_warmup", || Err("warming up".to_owned()));
/// assert!(expvar::server::remove_readiness_check("doc_warmup"));
/// assert!(!expvar::server::remove_readiness_check("doc_warmup"));
/// ```
pub fn remove_readiness_check(name: &str) -> bool {
    let mut checks = CHECKS.write().unwrap_or_else(PoisonError::into_inner);
    let before = checks.len();
    checks.retain(|(existing, _)| existing != name);
    checks.len() != before
}

/// Runs every readiness check, as `/status/health` does: `Ok` when all pass, else the
/// failing checks' names and reasons in registration order.
///
/// ```
/// expvar::server::add_readiness_check("doc_cache", || Err("cache not loaded".to_owned()));
/// let failures = expvar::server::check_readiness().unwrap_err();
/// assert!(failures.contains(&("doc_cache".to_owned(), "cache not loaded".to_owned())));
/// # expvar::server::remove_readiness_check("doc_cache");
/// ```
pub fn check_readiness() -> Result<(), Vec<(String, String)>> {
    // Run the checks on a snapshot, so a check may add or remove checks itself.
    let checks: Vec<(String, Check)> = CHECKS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let failures: Vec<(String, String)> = checks
        .into_iter()
        .filter_map(|(name, check)| {
            let reason = match catch_unwind(AssertUnwindSafe(|| check())) {
                Ok(Ok(())) => return None,
                Ok(Err(reason)) => reason,
                Err(_) => "the check panicked".to_owned(),
            };
            Some((name, reason))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// What `/status/health` makes of the registry's objectives when one alerts (see
/// [`ServerBuilder::objective_health`](crate::ServerBuilder::objective_health)).
///
/// The verdict is the multi-window, multi-burn-rate alert the
/// [objectives](crate::objectives) sampler computed last: *page* (burning 14.4x the
/// budget over 1 h and 5 m) or *ticket* (6x over 6 h and 30 m). Health reads that
/// verdict; it never reads a count or runs user code itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ObjectiveHealth {
    /// An alerting objective turns the answer to `degraded`: `200`, with one line per
    /// alerting objective saying why. Traffic keeps flowing; a person can see the burn.
    #[default]
    Degraded,
    /// A *page* answers `503` with the reasons (a load balancer stops sending traffic);
    /// a *ticket* is `degraded` as by default.
    Unavailable,
    /// Objectives do not change health.
    Ignore,
}

/// One line per alerting objective of `registry`, and whether any of them asks for
/// `503` under `policy`. Reads the sampler's last statuses: never waits for a count.
pub(crate) fn objective_verdict(
    registry: &Registry,
    policy: ObjectiveHealth,
) -> (Vec<String>, bool) {
    if policy == ObjectiveHealth::Ignore {
        return (Vec::new(), false);
    }
    let mut unavailable = false;
    let reasons = statuses(registry)
        .iter()
        .filter_map(|status| {
            unavailable |=
                policy == ObjectiveHealth::Unavailable && status.alert == Some(Alert::Page);
            status.alert_reason()
        })
        .collect();
    (reasons, unavailable)
}

/// `/status/health`'s answer: `503` with the failing checks (and alerting objectives),
/// else `503` or `200 degraded` for alerting objectives as the policy says, else `OK`.
pub(crate) fn response(readiness: &Readiness, objectives: (Vec<String>, bool)) -> Response<Body> {
    let (reasons, unavailable) = objectives;
    let failures = readiness.as_ref().err();
    if failures.is_none() && reasons.is_empty() {
        return plain(StatusCode::OK, "OK");
    }
    let (status, mut body) = if failures.is_some() || unavailable {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            String::from("503 service unavailable\n"),
        )
    } else {
        (StatusCode::OK, String::from("degraded\n"))
    };
    for (name, reason) in failures.into_iter().flatten() {
        body.push_str(&format!("{name}: {reason}\n"));
    }
    for reason in reasons {
        body.push_str(&format!("objective {reason}\n"));
    }
    let mut response = with_type(status, TEXT, body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The default of [`ServerBuilder::readiness_deadline`](crate::ServerBuilder::readiness_deadline).
pub(crate) const DEFAULT_READINESS_DEADLINE: Duration = Duration::from_secs(1);

/// What a readiness run found: `Ok`, or the failing checks' names and reasons.
pub(crate) type Readiness = Result<(), Vec<(String, String)>>;

/// Whether any check is registered (without one, health needs no worker thread).
pub(crate) fn has_checks() -> bool {
    !CHECKS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}

/// Checks whose run is going on now, by name.
static RUNNING: Lazy<Mutex<HashSet<String>>> = Lazy::new(Default::default);

/// Runs every check on a pool thread of its own and waits for them until `deadline`;
/// a check that has not answered by then, or is still running from an earlier call,
/// fails with that reason.
pub(crate) fn check_readiness_within(deadline: Duration) -> Readiness {
    let checks: Vec<(String, Check)> = CHECKS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let until = Instant::now() + deadline;
    let (done, answered) = mpsc::channel::<(usize, Option<String>)>();
    let mut outcomes: Vec<Option<Option<String>>> = vec![None; checks.len()];
    let mut waiting = 0;
    for (index, (name, check)) in checks.iter().enumerate() {
        if !running().insert(name.clone()) {
            outcomes[index] = Some(Some(
                "still running from an earlier request, past the deadline".to_owned(),
            ));
            continue;
        }
        let (name, check, done) = (name.clone(), Arc::clone(check), done.clone());
        let started = pool::spawn(move || {
            let failure = match catch_unwind(AssertUnwindSafe(|| check())) {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some(reason),
                Err(_) => Some("the check panicked".to_owned()),
            };
            running().remove(&name);
            let _ = done.send((index, failure));
        });
        match started {
            Ok(()) => waiting += 1,
            Err(error) => {
                running().remove(&checks[index].0);
                outcomes[index] = Some(Some(format!("no thread to run the check: {error}")));
            }
        }
    }
    drop(done);
    while waiting > 0 {
        match answered.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((index, failure)) => {
                outcomes[index] = Some(failure);
                waiting -= 1;
            }
            Err(_) => break,
        }
    }
    let failures: Vec<(String, String)> = checks
        .into_iter()
        .zip(outcomes)
        .filter_map(|((name, _), outcome)| match outcome {
            Some(None) => None,
            Some(Some(reason)) => Some((name, reason)),
            None => Some((name, format!("no answer within {deadline:?}"))),
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

fn running() -> std::sync::MutexGuard<'static, HashSet<String>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

type Waiter = Box<dyn FnOnce(&Readiness) + Send>;

/// The readiness run under way, and who waits for its result.
static FLIGHT: Mutex<Option<Vec<Waiter>>> = Mutex::new(None);

/// Calls `waiter` with the result of a readiness run: the one under way, or a new one
/// on a pool thread. Concurrent health requests share one run, so a flood of them
/// starts no more threads than one.
pub(crate) fn when_ready(deadline: Duration, waiter: impl FnOnce(&Readiness) + Send + 'static) {
    let mut flight = FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(waiters) = flight.as_mut() {
        waiters.push(Box::new(waiter));
        return;
    }
    *flight = Some(vec![Box::new(waiter)]);
    drop(flight);
    let started = pool::spawn(move || finish(&check_readiness_within(deadline)));
    if let Err(error) = started {
        finish(&Err(vec![(
            "expvar".to_owned(),
            format!("no thread to run the checks: {error}"),
        )]));
    }
}

fn finish(readiness: &Readiness) {
    let waiters = FLIGHT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    for waiter in waiters {
        waiter(readiness);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hung_check_fails_by_the_deadline_and_is_not_started_twice() {
        let (release, hang) = mpsc::channel::<()>();
        let hang = Mutex::new(hang);
        let starts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&starts);
        add_readiness_check("unit_hung", move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = hang.lock().unwrap().recv();
            Ok(())
        });
        for _ in 0..3 {
            let failures = check_readiness_within(Duration::from_millis(100)).unwrap_err();
            assert!(failures.iter().any(|(name, _)| name == "unit_hung"));
        }
        assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 1);
        remove_readiness_check("unit_hung");
        release.send(()).unwrap();
    }

    #[test]
    fn an_alerting_objective_degrades_health_or_makes_it_unavailable() {
        use crate::{Counter, Objective};

        static TOTAL: Counter = Counter::new();
        static FAILED: Counter = Counter::new();
        let registry = Registry::new();
        Objective::success_rate("unit_health", 0.99)
            .counters(&TOTAL, &FAILED)
            .register(&registry)
            .unwrap();
        let verdict = |policy| objective_verdict(&registry, policy);
        assert_eq!(verdict(ObjectiveHealth::Degraded), (Vec::new(), false));

        // Half the calls failing, 50x the budget over every window: a page.
        TOTAL.add(100);
        FAILED.add(50);
        crate::objectives::sample_now(&registry);
        let reason = "unit_health: page: success 99% burning 50x over 1h and 50x over 5m";
        assert_eq!(
            verdict(ObjectiveHealth::Degraded),
            (vec![reason.to_owned()], false)
        );
        assert_eq!(
            verdict(ObjectiveHealth::Unavailable),
            (vec![reason.to_owned()], true)
        );
        assert_eq!(verdict(ObjectiveHealth::Ignore), (Vec::new(), false));

        let body = |response: Response<Body>| {
            use http_body_util::BodyExt as _;
            let status = response.status().as_u16();
            let retry = response.headers().get(RETRY_AFTER).is_some();
            let bytes = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(response.into_body().collect())
                .unwrap()
                .to_bytes();
            (status, retry, String::from_utf8(bytes.to_vec()).unwrap())
        };
        assert_eq!(
            body(response(&Ok(()), verdict(ObjectiveHealth::Degraded))),
            (200, false, format!("degraded\nobjective {reason}\n"))
        );
        assert_eq!(
            body(response(&Ok(()), verdict(ObjectiveHealth::Unavailable))),
            (
                503,
                true,
                format!("503 service unavailable\nobjective {reason}\n")
            )
        );
        let failing: Readiness = Err(vec![("db".to_owned(), "down".to_owned())]);
        assert_eq!(
            body(response(&failing, verdict(ObjectiveHealth::Degraded))),
            (
                503,
                true,
                format!("503 service unavailable\ndb: down\nobjective {reason}\n")
            )
        );
        assert_eq!(
            body(response(&Ok(()), verdict(ObjectiveHealth::Ignore))),
            (200, false, "OK".to_owned())
        );
    }
}
