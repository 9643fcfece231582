//! The step between the registry and a served document: variables that may block are
//! rendered on worker threads with a deadline, so one slow or hung variable delays
//! nothing but itself.
//!
//! Built-in types that read only atomics or their own short lock
//! ([`Var::__may_block`] is `false`) are written in place. Every other top-level
//! variable is captured into a [`Recording`] on a pool thread; the document waits for
//! the captures until the deadline, and a variable that has not answered by then is
//! written as absent (`null` in JSON, left out of `/metrics` and the dashboard),
//! counted in [`render_timeouts`] and logged once. A variable whose earlier capture is
//! still running is not started again, but is late at once: a hung variable holds one
//! thread, however often it is scraped.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::server::pool;
use crate::vars::counter::Counter;
use crate::vars::recording::Recording;
use crate::vars::{IntoVarRef, VarRef};
use crate::vars::{Var, Writer};

/// The default of [`ServerBuilder::render_deadline`](crate::ServerBuilder::render_deadline).
pub(crate) const DEFAULT_RENDER_DEADLINE: Duration = Duration::from_secs(2);

static RENDER_TIMEOUTS: Counter = Counter::new();

/// Variables whose capture is running now, by name.
static RENDERING: Lazy<Mutex<HashSet<Arc<str>>>> = Lazy::new(Default::default);
/// Variables reported late and not yet seen on time again, so each lapse is logged once.
static REPORTED_LATE: Lazy<Mutex<HashSet<Arc<str>>>> = Lazy::new(Default::default);

/// How many times the server left a variable out of a document because it had not
/// rendered within the [render deadline](crate::ServerBuilder::render_deadline).
///
/// ```
/// // Nothing has been late in this process.
/// assert_eq!(expvar::render_timeouts(), 0);
/// ```
pub fn render_timeouts() -> u64 {
    RENDER_TIMEOUTS.get()
}

/// Written in place of a variable that missed the deadline: absent in every format.
struct Late;

impl Var for Late {
    fn write(&self, out: Writer<'_>) {
        out.null();
    }

    fn __may_block(&self) -> bool {
        false
    }
}

static LATE: Late = Late;

/// `vars` with every variable that may block replaced by its captured value, or by
/// an absent value if it was not captured within `deadline`.
pub(crate) fn collect(
    mut vars: Vec<(Arc<str>, VarRef)>,
    deadline: Duration,
) -> Vec<(Arc<str>, VarRef)> {
    if !vars.iter().any(|(_, var)| var.__may_block()) {
        // Nothing to wait for (the usual dashboard tick): no channel, no allocation.
        return vars;
    }
    let until = Instant::now() + deadline;
    let (done, captured) = mpsc::channel::<(usize, Recording)>();
    let mut waiting = 0;
    let mut late = vec![false; vars.len()];
    for (index, (name, var)) in vars.iter().enumerate() {
        if !var.__may_block() {
            continue;
        }
        if !lock(&RENDERING).insert(Arc::clone(name)) {
            late[index] = true;
            continue;
        }
        let (key, var, done) = (Arc::clone(name), var.clone(), done.clone());
        let started = pool::spawn(move || {
            let recording = Recording::capture(&*var);
            lock(&RENDERING).remove(&key);
            // The document may have given up waiting; then the value is dropped.
            let _ = done.send((index, recording));
        });
        match started {
            Ok(()) => {
                late[index] = true;
                waiting += 1;
            }
            Err(error) => {
                lock(&RENDERING).remove(name);
                log::warn!("expvar: no thread to render {name:?}: {error}");
                late[index] = true;
            }
        }
    }
    drop(done);
    while waiting > 0 {
        let left = until.saturating_duration_since(Instant::now());
        match captured.recv_timeout(left) {
            Ok((index, recording)) => {
                waiting -= 1;
                late[index] = false;
                vars[index].1 = Arc::new(recording).into_var_ref();
            }
            Err(_) => break,
        }
    }
    let mut reported = lock(&REPORTED_LATE);
    for ((name, var), late) in vars.iter_mut().zip(late) {
        if late {
            RENDER_TIMEOUTS.inc();
            if reported.insert(Arc::clone(name)) {
                log::warn!(
                    "expvar: variable {name:?} did not render within {deadline:?}; \
                     left out until it does"
                );
            }
            *var = (&LATE).into_var_ref();
        } else if !reported.is_empty() && reported.remove(name) {
            log::info!("expvar: variable {name:?} renders on time again");
        }
    }
    drop(reported);
    vars
}

fn lock<T>(set: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The sets are updated in single calls, which cannot leave them half-changed.
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::json::render_document;
    use crate::{Counter, Func};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    fn named(name: &str, var: impl Var + 'static) -> (Arc<str>, VarRef) {
        (Arc::from(name), Arc::new(var).into_var_ref())
    }

    #[test]
    fn a_late_variable_is_null_and_the_rest_is_served() {
        let counter = Counter::new();
        counter.add(3);
        let before = render_timeouts();
        let vars = vec![
            named("unit_fast", counter),
            named("unit_func", Func::new(|| 7)),
            named(
                "unit_slow",
                Func::new(|| std::thread::sleep(Duration::from_millis(500))),
            ),
        ];
        let json = render_document(&collect(vars, Duration::from_millis(100)));
        assert!(json.contains("\"unit_fast\": 3"), "{json}");
        assert!(json.contains("\"unit_func\": 7"), "{json}");
        assert!(json.contains("\"unit_slow\": null"), "{json}");
        assert!(render_timeouts() > before);
    }

    #[test]
    fn a_hung_variable_is_not_rendered_twice() {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        static RELEASE: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);
        let (release, hold) = mpsc::channel();
        *RELEASE.lock().unwrap() = Some(hold);
        let hung = Arc::new(Func::new(|| {
            STARTS.fetch_add(1, SeqCst);
            let hold = RELEASE.lock().unwrap().take();
            hold.map(|hold| hold.recv()).map(drop).unwrap_or_default();
        }));
        for _ in 0..5 {
            let vars = vec![(Arc::from("unit_hung"), Arc::clone(&hung).into_var_ref())];
            let json = render_document(&collect(vars, Duration::from_millis(50)));
            assert!(json.contains("\"unit_hung\": null"), "{json}");
        }
        assert_eq!(STARTS.load(SeqCst), 1);
        release.send(()).unwrap();
    }
}
