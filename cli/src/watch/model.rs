//! What `expvar watch` knows about each target: its chosen rows with history, whether
//! it is up, and how often it restarted. Pure state, updated once per fetch from a
//! [`Reading`]: what a document says, reduced off the terminal thread to the rows shown.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use serde_json::Value;

use crate::select::{choose, lookup};
use crate::units::{is_counter, unit_of, Unit};

/// How rows are chosen and shown.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--vars`: dotted paths and globs; empty for the default choice.
    pub patterns: Vec<String>,
    /// `--rate`: every row as a rate per second, not only counters.
    pub rate_all: bool,
}

/// Samples of history kept per row: more than any terminal is wide.
pub const HISTORY: usize = 240;
/// The most rows a target shows (more than any terminal is tall, to scroll through);
/// the title says how many more its document chose.
pub const MAX_ROWS: usize = 500;

/// Whether a target answered its last fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Not fetched yet.
    Waiting,
    Up,
    /// The last fetch failed, with why; the target is retried at the next tick.
    Down(String),
    /// The last document was refused for its size, with the limit it went over.
    TooLarge(String),
}

/// One chosen value of one target.
#[derive(Debug, Clone)]
pub struct Row {
    pub path: String,
    pub unit: Unit,
    /// Shown as a rate per second.
    pub rate: bool,
    /// The figure shown now (the rate for a rate row); `None` until there is one.
    pub value: Option<f64>,
    pub history: VecDeque<f64>,
}

/// One target's column.
#[derive(Debug, Clone)]
pub struct Panel {
    pub name: String,
    pub status: Status,
    pub rows: Vec<Row>,
    /// Restarts seen: uptime or a counter went back, or the pid changed.
    pub restarts: u32,
    /// When the last restart was seen.
    pub restarted_at: Option<Instant>,
    /// Rows the document chose beyond [`MAX_ROWS`], not shown.
    pub hidden: usize,
    /// The raw values of the last document, for rates and restart detection.
    previous: Option<(Instant, HashMap<String, f64>)>,
    previous_identity: Identity,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Identity {
    pid: Option<f64>,
    uptime: Option<f64>,
}

impl Identity {
    fn of(doc: &Value) -> Identity {
        let number = |path| lookup(doc, path).and_then(Value::as_f64);
        Identity {
            pid: number("process.pid"),
            uptime: number("process.uptime_seconds")
                .or_else(|| number("uptime_seconds"))
                .or_else(|| number("uptime")),
        }
    }
}

/// What one document says, reduced to the rows a panel shows: made where the document
/// was read, so the terminal thread only applies it.
#[derive(Debug, Clone)]
pub struct Reading {
    /// When the document was read.
    pub at: Instant,
    /// The chosen paths, at most [`MAX_ROWS`], with their numbers.
    pub values: Vec<(String, Option<f64>)>,
    /// How many paths the document chose in all.
    pub chosen: usize,
    identity: Identity,
}

impl Reading {
    /// The rows `options` choose in `doc`, read at `at`.
    pub fn of(doc: &Value, at: Instant, options: &Options) -> Reading {
        let mut paths = choose(doc, &options.patterns);
        let chosen = paths.len();
        paths.truncate(MAX_ROWS);
        let values = paths
            .into_iter()
            .map(|path| {
                let value = lookup(doc, &path).and_then(Value::as_f64);
                (path, value)
            })
            .collect();
        Reading {
            at,
            values,
            chosen,
            identity: Identity::of(doc),
        }
    }
}

impl Panel {
    pub fn new(name: impl Into<String>) -> Panel {
        Panel {
            name: name.into(),
            status: Status::Waiting,
            rows: Vec::new(),
            restarts: 0,
            restarted_at: None,
            hidden: 0,
            previous: None,
            previous_identity: Identity::default(),
        }
    }

    /// Records a failed fetch: the target is shown down, its rows keep their history.
    pub fn failed(&mut self, reason: String) {
        self.status = Status::Down(reason);
    }

    /// Records a document refused for its size: shown so, its rows keep their history.
    pub fn too_large(&mut self, reason: String) {
        self.status = Status::TooLarge(reason);
    }

    /// Records a document read at `at`.
    pub fn update(&mut self, doc: &Value, at: Instant, options: &Options) {
        self.apply(Reading::of(doc, at, options), options);
    }

    /// Records what a document read at `reading.at` says.
    pub fn apply(&mut self, reading: Reading, options: &Options) {
        self.status = Status::Up;
        let at = reading.at;
        let raw: HashMap<&str, f64> = reading
            .values
            .iter()
            .filter_map(|(path, value)| Some((path.as_str(), (*value)?)))
            .collect();
        let restarted = self.restarted(reading.identity, &raw);
        if restarted {
            self.restarts += 1;
            self.restarted_at = Some(at);
        }
        self.previous_identity = reading.identity;
        self.hidden = reading.chosen - reading.values.len();

        let mut old: HashMap<String, Row> = self
            .rows
            .drain(..)
            .map(|row| (row.path.clone(), row))
            .collect();
        let elapsed = self
            .previous
            .as_ref()
            .map(|(then, _)| at.saturating_duration_since(*then).as_secs_f64());
        for (path, now) in &reading.values {
            let mut row = old.remove(path).unwrap_or_else(|| Row {
                unit: unit_of(path),
                rate: options.rate_all || is_counter(path),
                path: path.clone(),
                value: None,
                history: VecDeque::new(),
            });
            row.value = if row.rate {
                // A rate needs two readings of the same process.
                let before = self
                    .previous
                    .as_ref()
                    .filter(|_| !restarted)
                    .and_then(|(_, values)| values.get(path));
                match (now, before, elapsed) {
                    (Some(now), Some(before), Some(seconds)) if seconds > 0.0 => {
                        Some((now - before) / seconds)
                    }
                    _ => None,
                }
            } else {
                *now
            };
            if let Some(value) = row.value {
                if row.history.len() == HISTORY {
                    row.history.pop_front();
                }
                row.history.push_back(value);
            }
            self.rows.push(row);
        }
        let raw = raw
            .into_iter()
            .map(|(path, value)| (path.to_owned(), value))
            .collect();
        self.previous = Some((at, raw));
    }

    /// Whether the process behind the target is a new one since the last document.
    fn restarted(&self, identity: Identity, raw: &HashMap<&str, f64>) -> bool {
        let Some((_, previous)) = &self.previous else {
            return false;
        };
        let was = self.previous_identity;
        let changed_pid = matches!((was.pid, identity.pid), (Some(a), Some(b)) if a != b);
        let uptime_back = matches!((was.uptime, identity.uptime), (Some(a), Some(b)) if b < a);
        let counter_back = raw.iter().any(|(path, now)| {
            is_counter(path) && previous.get(*path).is_some_and(|before| now < before)
        });
        changed_pid || uptime_back || counter_back
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn row<'p>(panel: &'p Panel, path: &str) -> &'p Row {
        panel.rows.iter().find(|row| row.path == path).unwrap()
    }

    #[test]
    fn counters_become_rates_and_gauges_stay_values() {
        let options = Options::default();
        let start = Instant::now();
        let mut panel = Panel::new("a:1");
        let doc = |calls: u64, heap: u64| json!({"memstats": {"HeapAlloc": heap, "NumGC": calls}, "requests_total": calls * 10});
        panel.update(&doc(1, 100), start, &options);
        assert_eq!(panel.status, Status::Up);
        assert_eq!(row(&panel, "memstats.HeapAlloc").value, Some(100.0));
        assert_eq!(row(&panel, "requests_total").value, None);
        panel.update(&doc(3, 50), start + Duration::from_secs(2), &options);
        assert_eq!(row(&panel, "requests_total").value, Some(10.0));
        assert_eq!(row(&panel, "memstats.NumGC").value, Some(1.0));
        assert_eq!(row(&panel, "memstats.HeapAlloc").history, [100.0, 50.0]);
        assert_eq!(row(&panel, "memstats.HeapAlloc").unit, Unit::Bytes);
        assert_eq!(panel.restarts, 0);
    }

    #[test]
    fn rate_all_makes_every_row_a_rate() {
        let options = Options {
            patterns: vec!["x".into()],
            rate_all: true,
        };
        let start = Instant::now();
        let mut panel = Panel::new("a:1");
        panel.update(&json!({"x": 1, "y": 2}), start, &options);
        panel.update(&json!({"x": 5}), start + Duration::from_secs(4), &options);
        assert_eq!(panel.rows.len(), 1);
        assert_eq!(panel.rows[0].value, Some(1.0));
    }

    #[test]
    fn restarts_are_seen_by_uptime_pid_or_counters() {
        let options = Options::default();
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        let mut panel = Panel::new("a:1");
        panel.update(
            &json!({"process": {"pid": 7, "uptime_seconds": 50}}),
            at(0),
            &options,
        );
        panel.update(
            &json!({"process": {"pid": 7, "uptime_seconds": 51}}),
            at(1),
            &options,
        );
        assert_eq!(panel.restarts, 0);
        panel.update(
            &json!({"process": {"pid": 8, "uptime_seconds": 52}}),
            at(2),
            &options,
        );
        assert_eq!(panel.restarts, 1);
        panel.update(
            &json!({"process": {"pid": 8, "uptime_seconds": 1}}),
            at(3),
            &options,
        );
        assert_eq!(panel.restarts, 2);
        // Go's expvar has neither: a counter going back tells.
        let mut go = Panel::new("b:2");
        go.update(&json!({"requests_total": 9}), at(0), &options);
        go.failed("connection refused".into());
        assert_eq!(go.status, Status::Down("connection refused".into()));
        go.update(&json!({"requests_total": 2}), at(5), &options);
        assert_eq!((go.restarts, go.restarted_at), (1, Some(at(5))));
        // No rate across a restart.
        assert_eq!(go.rows[0].value, None);
        assert_eq!(go.status, Status::Up);
    }

    #[test]
    fn rows_are_capped_and_the_rest_counted() {
        let doc: serde_json::Map<String, Value> = (0..MAX_ROWS + 7)
            .map(|index| (format!("k{index:05}"), json!(index)))
            .collect();
        let mut panel = Panel::new("a:1");
        panel.update(&Value::Object(doc), Instant::now(), &Options::default());
        assert_eq!((panel.rows.len(), panel.hidden), (MAX_ROWS, 7));
        assert_eq!(panel.rows[0].path, "k00000");
    }
}
