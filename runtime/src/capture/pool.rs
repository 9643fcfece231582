//! The threads that render documents and run user code (variables, readiness checks),
//! so the server's async thread only moves bytes and never waits on either.
//!
//! The pool is elastic: a job takes an idle thread or starts a new one, and a thread
//! idle for [`IDLE_EXIT`] ends. It never queues, so a job cannot wait behind a variable
//! that hangs. What bounds the threads is what submits jobs: documents are capped by the
//! server's requests-in-flight limit, and a variable or readiness check is never run
//! again while its previous run is still going (see `collect.rs`).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use once_cell::sync::Lazy;

/// How long an idle thread waits for work before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    idle: usize,
    threads: usize,
}

static POOL: Lazy<Pool> = Lazy::new(|| Pool {
    state: Mutex::new(State::default()),
    work: Condvar::new(),
});

/// Runs `job` on a pool thread. `Err` only when no thread can be started (the job is
/// then dropped without running).
pub(crate) fn spawn(job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut state = lock();
    if state.idle > state.queue.len() {
        state.queue.push_back(Box::new(job));
        drop(state);
        POOL.work.notify_one();
        return Ok(());
    }
    state.threads += 1;
    drop(state);
    let job: Job = Box::new(job);
    let started = std::thread::Builder::new()
        .name("expvar-render".into())
        .spawn(move || work(job));
    if started.is_err() {
        lock().threads -= 1;
    }
    started.map(drop)
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    // Jobs run outside the lock, so a panicking job cannot poison it mid-update.
    POOL.state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn work(first: Job) {
    // A job that panics ends only its own run; the thread keeps serving.
    let run = |job: Job| drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)));
    run(first);
    let mut state = lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            run(job);
            state = lock();
            continue;
        }
        state.idle += 1;
        let (next, timeout) = POOL
            .work
            .wait_timeout_while(state, IDLE_EXIT, |state| state.queue.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_one_after_the_other() {
        let (done, finished) = mpsc::channel();
        for index in 0..4 {
            let done = done.clone();
            spawn(move || done.send(index).unwrap()).unwrap();
            // One at a time, so each finds the previous job's thread idle.
            finished.recv_timeout(Duration::from_secs(10)).unwrap();
        }
    }

    #[test]
    fn a_blocked_job_does_not_hold_up_the_next() {
        let (release, blocked) = mpsc::channel::<()>();
        spawn(move || {
            let _ = blocked.recv();
        })
        .unwrap();
        let (done, finished) = mpsc::channel();
        spawn(move || done.send(()).unwrap()).unwrap();
        finished.recv_timeout(Duration::from_secs(10)).unwrap();
        release.send(()).unwrap();
    }
}
