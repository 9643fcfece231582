//! `expvar watch`: a terminal view of many targets, in the spirit of expvarmon.
//!
//! A background thread fetches every target each interval; the terminal thread applies
//! what arrives and redraws only when something changed, so watching stays cheap.

pub mod model;
pub mod view;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::fetch::{fetch_all, Fetched};
use crate::target::Target;
use model::{Options, Panel};

/// What `expvar watch` was asked to do.
pub struct Config {
    pub targets: Vec<Target>,
    pub interval: Duration,
    pub timeout: Duration,
    pub options: Options,
}

/// Runs the terminal view until the user quits.
pub fn run(config: Config) -> std::io::Result<()> {
    let (updates, received) = mpsc::channel();
    let targets = config.targets.clone();
    let (interval, timeout) = (config.interval, config.timeout);
    std::thread::Builder::new()
        .name("fetch".into())
        .spawn(move || fetch_forever(&targets, interval, timeout, &updates))?;

    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &config, &received);
    ratatui::restore();
    result
}

/// Fetches every target each `interval` until the terminal side hangs up.
fn fetch_forever(
    targets: &[Target],
    interval: Duration,
    timeout: Duration,
    updates: &mpsc::Sender<(Instant, Vec<Fetched>)>,
) {
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
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let fetched = fetch_all(targets, timeout.min(interval)).await;
            if updates.send((Instant::now(), fetched)).is_err() {
                return;
            }
        }
    });
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    config: &Config,
    received: &mpsc::Receiver<(Instant, Vec<Fetched>)>,
) -> std::io::Result<()> {
    let mut panels: Vec<Panel> = config
        .targets
        .iter()
        .map(|target| Panel::new(target.authority.clone()))
        .collect();
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
        if event::poll(Duration::from_millis(200))? {
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
        }
        while let Ok((at, fetched)) = received.try_recv() {
            // Paused: the view stays as it is; fetching goes on so resuming is current.
            if paused {
                continue;
            }
            for (panel, fetched) in panels.iter_mut().zip(fetched) {
                match fetched.result {
                    Ok(doc) => panel.update(&doc, at, &config.options),
                    Err(error) => panel.failed(error.to_string()),
                }
            }
            dirty = true;
        }
    }
}
