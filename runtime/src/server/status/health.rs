//! Readiness checks behind `/status/health`: the endpoint answers `200 OK` until a
//! registered check fails, then `503` with every failing check's reason.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, RwLock};

type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

static CHECKS: RwLock<Vec<(String, Check)>> = RwLock::new(Vec::new());

/// Registers a readiness check for `/status/health`, replacing any check of the same name.
///
/// While every check returns `Ok`, `/status/health` answers `200` with `OK`. When any
/// returns `Err(reason)` (or panics), it answers `503 Service Unavailable` with one
/// `name: reason` line per failing check, so a load balancer stops sending traffic and
/// a person can see why. Checks run on every request to the endpoint, one after the
/// other, on the server's thread: keep them quick (read a flag, compare a timestamp),
/// and do slow probing elsewhere.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// static DATABASE_UP: AtomicBool = AtomicBool::new(false);
///
/// expvar::add_readiness_check("doc_database", || {
///     if DATABASE_UP.load(Ordering::Relaxed) {
///         Ok(())
///     } else {
///         Err("no connection to the database yet".to_owned())
///     }
/// });
/// assert!(expvar::check_readiness().is_err());
/// DATABASE_UP.store(true, Ordering::Relaxed);
/// # expvar::remove_readiness_check("doc_database");
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
/// expvar::add_readiness_check("doc_warmup", || Err("warming up".to_owned()));
/// assert!(expvar::remove_readiness_check("doc_warmup"));
/// assert!(!expvar::remove_readiness_check("doc_warmup"));
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
/// expvar::add_readiness_check("doc_cache", || Err("cache not loaded".to_owned()));
/// let failures = expvar::check_readiness().unwrap_err();
/// assert!(failures.contains(&("doc_cache".to_owned(), "cache not loaded".to_owned())));
/// # expvar::remove_readiness_check("doc_cache");
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
