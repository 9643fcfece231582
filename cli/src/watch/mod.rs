//! `expvar watch`: a terminal view of many targets, in the spirit of expvarmon.
//!
//! A background thread fetches every target each interval and reduces each document to
//! the rows shown ([`Reading`]); it keeps only the latest per target, so a slow terminal
//! or a huge document never queues up. The terminal thread reads keys between every
//! step, applies what arrived and redraws only when something changed.

pub mod model;
pub mod view;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::fetch::{fetch_all, FetchError};
use crate::limits::Limits;
use crate::target::{target_names, Target};
use model::{Options, Panel, Reading};

/// How long the terminal thread waits for a key before it looks for new readings.
const KEY_WAIT: Duration = Duration::from_millis(100);

/// What `expvar watch` was asked to do.
pub struct Config {
    pub targets: Vec<Target>,
    pub interval: Duration,
    pub timeout: Duration,
    pub limits: Limits,
    pub options: Options,
}

/// What the last fetch of one target gave.
enum Update {
    Read(Reading),
    TooLarge(String),
    Failed(String),
}

/// The latest update of each target, replaced by each fetch and taken by the terminal.
struct Latest {
    slots: Mutex<Vec<Option<Update>>>,
    /// Set when the terminal side is done, so the fetcher stops.
    closed: AtomicBool,
}

impl Latest {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Update>>> {
        // Slots are replaced whole: a panic cannot leave one half-written.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the terminal view until the user quits.
pub fn run(config: Config) -> std::io::Result<()> {
    let names = target_names(&config.targets).map_err(std::io::Error::other)?;
    let latest = Arc::new(Latest {
        slots: Mutex::new(config.targets.iter().map(|_| None).collect()),
        closed: AtomicBool::new(false),
    });
    let fetcher = Fetcher {
        targets: config.targets.clone(),
        interval: config.interval,
        timeout: config.timeout,
        limits: config.limits,
        options: config.options.clone(),
        latest: Arc::clone(&latest),
    };
    std::thread::Builder::new()
        .name("fetch".into())
        .spawn(move || fetcher.run())?;

    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &config, names, &latest);
    ratatui::restore();
    // The fetcher may be inside a read: it is not waited for.
    latest.closed.store(true, Relaxed);
    result
}

/// The background side: fetches and reduces documents.
struct Fetcher {
    targets: Vec<Target>,
    interval: Duration,
    timeout: Duration,
    limits: Limits,
    options: Options,
    latest: Arc<Latest>,
}

impl Fetcher {
    /// Fetches every target each `interval` until the terminal side is done.
    fn run(self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("cannot start the fetcher: {error}");
                return;
            }
        };
        runtime.block_on(async {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !self.latest.closed.load(Relaxed) {
                ticks.tick().await;
                let timeout = self.timeout.min(self.interval);
                let fetched = fetch_all(&self.targets, timeout, self.limits).await;
                let at = Instant::now();
                for (index, fetched) in fetched.into_iter().enumerate() {
                    // One document at a time: reduced, then dropped.
                    let update = match fetched.result {
                        Ok(doc) => Update::Read(Reading::of(&doc, at, &self.options)),
                        Err(error @ FetchError::TooLarge(_)) => Update::TooLarge(error.to_string()),
                        Err(error) => Update::Failed(error.to_string()),
                    };
                    self.latest.lock()[index] = Some(update);
                }
            }
        });
    }
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    config: &Config,
    names: Vec<String>,
    latest: &Latest,
) -> std::io::Result<()> {
    let mut panels: Vec<Panel> = names.into_iter().map(Panel::new).collect();
    let mut selected_target = 0;
    let mut selected_row = 0;
    let mut paused = false;
    let mut dirty = true;
    loop {
        if dirty {
            let screen = view::Screen {
                panels: &panels,
                selected_target,
                selected_row,
                paused,
                interval: config.interval,
                now: Instant::now(),
            };
            terminal.draw(|frame| view::draw(frame, &screen))?;
            dirty = false;
        }
        if event::poll(KEY_WAIT)? {
            match event::read()? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    let rows = panels
                        .get(selected_target)
                        .map_or(0, |panel| panel.rows.len());
                    match key.code {
                        KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Ok(())
                        }
                        KeyCode::Char('p') | KeyCode::Char(' ') => paused = !paused,
                        KeyCode::Right | KeyCode::Tab | KeyCode::Char('l') => {
                            selected_target = (selected_target + 1) % panels.len();
                        }
                        KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h') => {
                            selected_target = (selected_target + panels.len() - 1) % panels.len();
                        }
                        KeyCode::Down | KeyCode::Char('j') => {
                            selected_row = (selected_row + 1).min(rows.saturating_sub(1));
                        }
                        KeyCode::Up | KeyCode::Char('k') => {
                            selected_row = selected_row.saturating_sub(1);
                        }
                        _ => {}
                    }
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
            // Keys first: the readings wait for the next turn.
            continue;
        }
        // Paused: the view stays as it is; the fetcher keeps the latest reading of each
        // target, so resuming shows it at once.
        if paused {
            continue;
        }
        for (index, panel) in panels.iter_mut().enumerate() {
            let Some(update) = latest.lock()[index].take() else {
                continue;
            };
            match update {
                Update::Read(reading) => panel.apply(reading, &config.options),
                Update::TooLarge(reason) => panel.too_large(reason),
                Update::Failed(reason) => panel.failed(reason),
            }
            dirty = true;
            // A key pressed meanwhile is read before the next target is applied.
            if event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}
