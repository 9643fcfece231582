//! What the code under test logged through the `log` facade.

use std::sync::Mutex;

static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Only lines holding this are kept (set by [`capture`]).
static CONTAINING: Mutex<String> = Mutex::new(String::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        if line.contains(CONTAINING.lock().unwrap().as_str()) {
            LOGGED.lock().unwrap().push(line);
        }
    }

    fn flush(&self) {}
}

/// Keeps every line logged at `level` or above that contains `containing` (the test's
/// own variable names, so other tests' lines stay out). Once per test binary.
pub fn capture(containing: &str, level: log::LevelFilter) {
    containing.clone_into(&mut CONTAINING.lock().unwrap());
    log::set_logger(&Capture).expect("one logger per test binary");
    log::set_max_level(level);
}

/// The lines kept so far.
pub fn logged() -> Vec<String> {
    LOGGED.lock().unwrap().clone()
}
