//! The capture of documents, between the registry and what serves or pushes them:
//! variables that may block are rendered on worker threads with a deadline, so one slow
//! or hung variable delays nothing but itself.
//!
//! Built-in types that read only atomics or their own short lock
//! ([`Var::__may_block`] is `false`) are written in place. Every other top-level
//! variable is captured into a [`Recording`] on a pool thread; the document waits for
//! the captures until the deadline, and a variable that has not answered by then is
//! written as absent (`null` in JSON, left out of `/metrics` and the dashboard),
//! counted in [`render_timeouts`] and logged once. One capture of a variable runs at a
//! time: a document that needs a variable whose capture is running waits for that same
//! capture, so concurrent scrapes share one run, and a hung variable holds one thread,
//! however often it is scraped. A document waits on a running capture only for what is
//! left of that capture's deadline, counted from when it started: once a capture is
//! late, its variable is left out at once until it returns, so a hung variable costs
//! one deadline, not one per document (nor per dashboard tick).

pub(crate) mod pool;
mod recording;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::vars::counter::Counter;
use crate::vars::{IntoVarRef, VarRef};
use crate::vars::{Var, Writer};
use recording::Recording;

/// The default of [`ServerBuilder::render_deadline`](crate::ServerBuilder::render_deadline).
pub(crate) const DEFAULT_RENDER_DEADLINE: Duration = Duration::from_secs(2);

static RENDER_TIMEOUTS: Counter = Counter::new();

/// The capture running now of each variable, by name.
static RENDERING: Lazy<Mutex<HashMap<Arc<str>, Arc<Capture>>>> = Lazy::new(Default::default);
/// Variables reported late and not yet seen on time again, so each lapse is logged once.
static REPORTED_LATE: Lazy<Mutex<HashSet<Arc<str>>>> = Lazy::new(Default::default);

/// How many times the server left a variable out of a document because it had not
/// rendered within the [render deadline](crate::ServerBuilder::render_deadline).
///
/// ```
/// // Nothing has been late in this process.
/// assert_eq!(expvar::server::render_timeouts(), 0);
/// ```
// Public through the server; the pushers count late variables here too.
#[cfg_attr(not(feature = "server"), allow(dead_code, unreachable_pub))]
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

/// One run of a variable on a pool thread, awaited by every document that asked for
/// the variable while it ran.
struct Capture {
    /// When the run started: its deadline counts from here, whoever waits for it.
    started: Instant,
    recording: Mutex<Option<Arc<Recording>>>,
    done: Condvar,
}

impl Capture {
    /// The recording, once the run has finished, or `None` at `until`.
    fn wait_until(&self, until: Instant) -> Option<Arc<Recording>> {
        let mut recording = lock(&self.recording);
        loop {
            if let Some(done) = &*recording {
                return Some(Arc::clone(done));
            }
            let left = until.checked_duration_since(Instant::now())?;
            recording = self
                .done
                .wait_timeout(recording, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The running capture of `var`, started now unless one is already running. `Err` only
/// when no thread can be started.
fn capture(name: &Arc<str>, var: &VarRef) -> std::io::Result<Arc<Capture>> {
    let mut rendering = lock(&RENDERING);
    if let Some(running) = rendering.get(name) {
        return Ok(Arc::clone(running));
    }
    let capture = Arc::new(Capture {
        started: Instant::now(),
        recording: Mutex::new(None),
        done: Condvar::new(),
    });
    rendering.insert(Arc::clone(name), Arc::clone(&capture));
    drop(rendering);
    let (key, var, shared) = (Arc::clone(name), var.clone(), Arc::clone(&capture));
    let started = pool::spawn(move || {
        let recording = Arc::new(Recording::capture(&*var));
        lock(&RENDERING).remove(&key);
        *lock(&shared.recording) = Some(recording);
        shared.done.notify_all();
    });
    match started {
        Ok(()) => Ok(capture),
        Err(error) => {
            lock(&RENDERING).remove(name);
            Err(error)
        }
    }
}

/// `vars` with every variable that may block replaced by its captured value, or by
/// an absent value if it was not captured within `deadline`.
pub(crate) fn collect(
    mut vars: Vec<(Arc<str>, VarRef)>,
    deadline: Duration,
) -> Vec<(Arc<str>, VarRef)> {
    if !vars.iter().any(|(_, var)| var.__may_block()) {
        // Nothing to wait for (the usual dashboard tick): no allocation.
        return vars;
    }
    let until = Instant::now() + deadline;
    // Every capture is started before any is awaited, so they run side by side.
    let mut captures = Vec::new();
    let mut late = Vec::new();
    for (index, (name, var)) in vars.iter().enumerate() {
        if !var.__may_block() {
            continue;
        }
        match capture(name, var) {
            Ok(capture) => captures.push((index, capture)),
            Err(error) => {
                log::warn!("expvar: no thread to render {name:?}: {error}");
                late.push(index);
            }
        }
    }
    let mut reported = None;
    for (index, capture) in captures {
        // A capture another document started is due by its own deadline, not ours.
        match capture.wait_until(until.min(capture.started + deadline)) {
            Some(recording) => {
                let name = &vars[index].0;
                let reported = reported.get_or_insert_with(|| lock(&REPORTED_LATE));
                if !reported.is_empty() && reported.remove(name) {
                    log::info!("expvar: variable {name:?} renders on time again");
                }
                vars[index].1 = recording.into_var_ref();
            }
            None => late.push(index),
        }
    }
    if !late.is_empty() {
        let reported = reported.get_or_insert_with(|| lock(&REPORTED_LATE));
        for index in late {
            let (name, var) = &mut vars[index];
            RENDER_TIMEOUTS.inc();
            if reported.insert(Arc::clone(name)) {
                log::warn!(
                    "expvar: variable {name:?} did not render within {deadline:?}; \
                     left out until it does"
                );
            }
            *var = (&LATE).into_var_ref();
        }
    }
    drop(reported);
    vars
}

fn lock<T>(set: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each is updated in single calls, which cannot leave it half-changed.
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Func};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::mpsc;

    fn render_document(vars: &[(Arc<str>, VarRef)]) -> String {
        let document = crate::encode::json::JsonDocument::new(vars.len());
        crate::encode::render(vars, document)
    }

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

    #[test]
    fn a_late_capture_costs_later_documents_nothing() {
        static RELEASE: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);
        let (release, hold) = mpsc::channel();
        *RELEASE.lock().unwrap() = Some(hold);
        let hung = Arc::new(Func::new(|| {
            let hold = RELEASE.lock().unwrap().take();
            hold.map(|hold| hold.recv()).map(drop).unwrap_or_default();
        }));
        let deadline = Duration::from_millis(300);
        let document = || {
            let vars = vec![(Arc::from("unit_late"), Arc::clone(&hung).into_var_ref())];
            let started = Instant::now();
            let json = render_document(&collect(vars, deadline));
            assert!(json.contains("\"unit_late\": null"), "{json}");
            started.elapsed()
        };
        assert!(document() >= deadline);
        // The capture is late: the next documents do not wait for it at all (20 would
        // have taken 20 deadlines; bounded at 10).
        let started = Instant::now();
        for _ in 0..20 {
            document();
        }
        assert!(started.elapsed() < deadline * 10, "{:?}", started.elapsed());
        release.send(()).unwrap();
    }

    #[test]
    fn concurrent_documents_share_one_capture_and_all_get_its_value() {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let slow = Arc::new(Func::new(|| {
            STARTS.fetch_add(1, SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            42
        }));
        let documents: Vec<_> = (0..4)
            .map(|_| {
                let vars = vec![(Arc::from("unit_shared"), Arc::clone(&slow).into_var_ref())];
                std::thread::spawn(move || render_document(&collect(vars, Duration::from_secs(30))))
            })
            .collect();
        for document in documents {
            let json = document.join().unwrap();
            assert!(json.contains("\"unit_shared\": 42"), "{json}");
        }
        // The documents overlap the first run; each later one starts at most one more.
        assert!(STARTS.load(SeqCst) < 4, "{} runs", STARTS.load(SeqCst));
    }
}
