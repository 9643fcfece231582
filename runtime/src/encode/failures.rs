//! Variables that fail to render: each failure is counted, but logged at most once a
//! minute per variable, and a panic while rendering does not reach the panic hook's
//! message and backtrace on standard error, so a broken variable does not flood the
//! logs with one report per scrape.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use crate::vars::counter::Counter;

/// How often one variable's failures are logged at most.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Variables whose last log time is remembered; beyond it, entries older than
/// [`LOG_INTERVAL`] are forgotten (so the table stays small even if names are unbounded).
const MAX_REMEMBERED: usize = 4096;

thread_local! {
    /// How many renders this thread is inside (renders nest when a variable renders
    /// another).
    static RENDERING: Cell<u32> = const { Cell::new(0) };
    /// Where the last panic caught while rendering was raised: `file:line`.
    static PANIC_SITE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL_HOOK: Once = Once::new();

/// Installs, once, a panic hook that keeps quiet about panics raised while this thread
/// renders a variable (they are caught, counted and logged by [`report`]) and passes
/// every other panic to the hook that was installed before.
fn install_hook() {
    // `set_hook` panics when called from a panicking thread: try again next render.
    if std::thread::panicking() {
        return;
    }
    INSTALL_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let rendering = RENDERING.try_with(|depth| depth.get() > 0);
            if rendering == Ok(true) {
                let site = info
                    .location()
                    .map(|location| format!("{}:{}", location.file(), location.line()));
                let _ = PANIC_SITE.try_with(|last| *last.borrow_mut() = site);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `render`, catching a panic; the panic hook stays quiet about it.
pub(crate) fn catch_render<R>(render: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    install_hook();
    PANIC_SITE.with(|site| site.borrow_mut().take());
    RENDERING.with(|depth| depth.set(depth.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(render));
    RENDERING.with(|depth| depth.set(depth.get() - 1));
    result
}

struct Logged {
    at: Instant,
    /// Failures not logged since `at`.
    suppressed: u64,
}

static LAST_LOGGED: Mutex<Option<HashMap<String, Logged>>> = Mutex::new(None);

/// Logs that variable `name` rendered as null because of `reason`, unless it was
/// logged less than [`LOG_INTERVAL`] ago; then the failure is only tallied, and the
/// next log line says how many were left out.
pub(crate) fn report(name: &str, reason: &dyn std::fmt::Display) {
    let site = PANIC_SITE.with(|site| site.borrow_mut().take());
    let now = Instant::now();
    let suppressed = {
        let mut table = LAST_LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
        let table = table.get_or_insert_with(HashMap::new);
        match table.get_mut(name) {
            Some(logged) if now.duration_since(logged.at) < LOG_INTERVAL => {
                logged.suppressed += 1;
                return;
            }
            Some(logged) => {
                let suppressed = logged.suppressed;
                *logged = Logged {
                    at: now,
                    suppressed: 0,
                };
                suppressed
            }
            None => {
                if table.len() >= MAX_REMEMBERED {
                    table.retain(|_, logged| now.duration_since(logged.at) < LOG_INTERVAL);
                    if table.len() >= MAX_REMEMBERED {
                        table.clear();
                    }
                }
                table.insert(
                    name.to_owned(),
                    Logged {
                        at: now,
                        suppressed: 0,
                    },
                );
                0
            }
        }
    };
    let site = site.map(|site| format!(" at {site}")).unwrap_or_default();
    let suppressed = match suppressed {
        0 => String::new(),
        n => format!(" ({n} more failures in the last minute not logged)"),
    };
    log::warn!("expvar: variable {name:?} rendered as null: {reason}{site}{suppressed}");
}

static RENDER_FAILURES: Counter = Counter::new();

/// How many times a value could not be rendered and was left out: a variable written
/// as `null` (a [`Func`](crate::Func) that panicked or whose value failed to serialize, a [`Var`](crate::Var)
/// that panicked), or a sample `/metrics` cannot express (a NaN or negative counter).
///
/// Every failure is counted here; each variable's failures are logged (`log::warn!`)
/// at most once a minute, and a panic while rendering skips the panic hook, so it
/// prints no message or backtrace to standard error.
pub fn render_failures() -> u64 {
    RENDER_FAILURES.get()
}

pub(crate) fn record_failure(name: &str, reason: &dyn std::fmt::Display) {
    count_failure();
    report(name, reason);
}

/// Counts a failure whose log line the caller writes (or has written once already).
pub(crate) fn count_failure() {
    RENDER_FAILURES.inc();
}
/// The message a panic carried, as `panic!` was given it.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "non-string panic payload"
    }
}
