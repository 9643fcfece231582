//! The burn computation, from cumulative counts sampled at a fixed cadence: error
//! ratios and burn rates over the short windows, the error budget left over the
//! objective's window, and the multi-window, multi-burn-rate verdict of the Google SRE
//! workbook (<https://sre.google/workbook/alerting-on-slos/>, "Multiwindow,
//! Multi-Burn-Rate Alerts").
//!
//! Pure arithmetic on [`Sample`]s: the sampler thread feeds a [`History`] and reads a
//! [`SliStatus`] back.

use std::collections::VecDeque;
use std::time::Duration;

use crate::objectives::spec::Target;

/// The short windows, by the name they are shown under: error ratios and burn rates
/// are computed over each.
pub const WINDOWS: [(&str, Duration); 4] = [
    ("5m", Duration::from_secs(300)),
    ("30m", Duration::from_secs(1800)),
    ("1h", Duration::from_secs(3600)),
    ("6h", Duration::from_secs(21_600)),
];

/// The burn rate that pages when both the 1 h and the 5 m windows exceed it: 2% of a
/// 30-day budget spent in one hour.
pub const PAGE_BURN_RATE: f64 = 14.4;
/// The burn rate that opens a ticket when both the 6 h and the 30 m windows exceed it:
/// 5% of a 30-day budget spent in six hours.
pub const TICKET_BURN_RATE: f64 = 6.0;

/// Indices into [`WINDOWS`].
const W5M: usize = 0;
const W30M: usize = 1;
const W1H: usize = 2;
const W6H: usize = 3;

/// The page alert's pair of windows and the ticket alert's, as indices into [`WINDOWS`]:
/// (long, short).
pub(crate) const PAGE_WINDOWS: (usize, usize) = (W1H, W5M);
pub(crate) const TICKET_WINDOWS: (usize, usize) = (W6H, W30M);

/// Cumulative counts of one indicator at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Milliseconds since the sampler's origin.
    pub(crate) at_ms: u64,
    /// Events counted so far.
    pub(crate) total: u64,
    /// Bad events (failures, slow calls) counted so far.
    pub(crate) bad: u64,
}

/// Window lengths and the cadence, in milliseconds, after the time scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spans {
    /// [`WINDOWS`], scaled.
    pub(crate) windows_ms: [u64; 4],
    /// The objective's window (30 days by default), scaled.
    pub(crate) window_ms: u64,
    /// Time between samples, scaled.
    pub(crate) cadence_ms: u64,
}

/// Samples per objective window in the coarse ring: the budget's window start is known
/// to within 1/720 of the window (one hour of 30 days).
const COARSE_STEPS: u64 = 720;

impl Spans {
    /// The spans for an objective `window` and a time `scale` (every span divided by it),
    /// sampling every `cadence` (also scaled; never below 10 ms).
    pub(crate) fn new(window: Duration, cadence: Duration, scale: f64) -> Spans {
        let scaled = |span: Duration| ((span.as_secs_f64() * 1000.0 / scale).round() as u64).max(1);
        Spans {
            windows_ms: WINDOWS.map(|(_, span)| scaled(span)),
            window_ms: scaled(window),
            cadence_ms: scaled(cadence).max(10),
        }
    }

    /// Samples the fine ring keeps: enough to reach back over the longest short window.
    fn fine_capacity(&self) -> usize {
        (self.windows_ms[W6H].div_ceil(self.cadence_ms) + 2) as usize
    }

    /// Time between samples of the coarse ring.
    fn coarse_step_ms(&self) -> u64 {
        (self.window_ms / COARSE_STEPS).max(self.cadence_ms)
    }
}

/// The counts of one indicator over time, in two bounded rings: every sample over the
/// last 6 h (scaled), and one per 1/720 of the objective's window over that window.
#[derive(Debug)]
pub(crate) struct History {
    spans: Spans,
    /// The first sample, kept for windows longer than the history ("since start").
    first: Sample,
    fine: VecDeque<Sample>,
    coarse: VecDeque<Sample>,
}

/// Error ratio and burn rate over one short window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStatus {
    /// Bad events over all events in the window; `None` without events.
    pub error_ratio: Option<f64>,
    /// The error ratio over the error budget (`1 - target`): 1 spends the budget exactly
    /// over the objective's window.
    pub burn_rate: Option<f64>,
    /// Whether the history is shorter than the window, so the figures are since the
    /// first sample.
    pub since_start: bool,
}

/// What the alerts of the SRE workbook would say now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alert {
    /// Burning more than [`TICKET_BURN_RATE`] over 6 h and over 30 m.
    Ticket,
    /// Burning more than [`PAGE_BURN_RATE`] over 1 h and over 5 m.
    Page,
}

impl Alert {
    /// `page` or `ticket`: the `severity` label of the generated alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Alert::Page => "page",
            Alert::Ticket => "ticket",
        }
    }

    /// The burn rate above which it holds.
    pub fn burn_rate(self) -> f64 {
        match self {
            Alert::Page => PAGE_BURN_RATE,
            Alert::Ticket => TICKET_BURN_RATE,
        }
    }

    /// Its long and short windows, as indices into [`WINDOWS`].
    pub fn windows(self) -> (usize, usize) {
        match self {
            Alert::Page => PAGE_WINDOWS,
            Alert::Ticket => TICKET_WINDOWS,
        }
    }
}

/// How an objective stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum State {
    /// Within its budget, no alert.
    #[default]
    Ok,
    /// The ticket alert holds: the budget goes too fast to last the window.
    Warning,
    /// The page alert holds, or the budget of the window is spent.
    Breach,
}

impl State {
    /// `ok`, `warning` or `breach`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Warning => "warning",
            State::Breach => "breach",
        }
    }

    /// `0`, `1` or `2`: the `expvar_objective_state` gauge.
    pub fn level(self) -> i64 {
        self as i64
    }
}

/// Where one indicator of an objective stands, computed from the counts the sampler
/// read over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliStatus {
    /// What the indicator promises.
    pub target: Target,
    /// Events counted so far.
    pub total: u64,
    /// Bad events counted so far.
    pub bad: u64,
    /// Over each of [`WINDOWS`], in order.
    pub windows: [WindowStatus; 4],
    /// The share of the error budget of the objective's window still unspent: 1 when
    /// nothing went wrong, 0 when exactly spent, negative when overspent.
    pub budget_remaining: f64,
    /// Whether the history is shorter than the objective's window, so the budget is
    /// counted since the first sample.
    pub budget_since_start: bool,
    /// The alert that holds, if any.
    pub alert: Option<Alert>,
    /// The state that follows.
    pub state: State,
}

impl History {
    /// A history starting with `first`.
    pub(crate) fn new(first: Sample, spans: Spans) -> History {
        let mut fine = VecDeque::with_capacity(spans.fine_capacity());
        fine.push_back(first);
        let mut coarse = VecDeque::with_capacity(COARSE_STEPS as usize + 2);
        coarse.push_back(first);
        History {
            spans,
            first,
            fine,
            coarse,
        }
    }

    /// Adds the counts read now. Counts that went down (a counter replaced) are taken
    /// as they are: the windows that span the drop show no events rather than negative ones.
    pub(crate) fn push(&mut self, sample: Sample) {
        if self.fine.len() == self.spans.fine_capacity() {
            self.fine.pop_front();
        }
        self.fine.push_back(sample);
        let last_coarse = self.coarse.back().map_or(0, |last| last.at_ms);
        if sample.at_ms >= last_coarse + self.spans.coarse_step_ms() {
            if self.coarse.len() > COARSE_STEPS as usize + 1 {
                self.coarse.pop_front();
            }
            self.coarse.push_back(sample);
        }
    }

    /// The latest sample.
    pub(crate) fn latest(&self) -> Sample {
        *self
            .fine
            .back()
            .expect("a history has at least its first sample")
    }

    /// The newest sample at least `span_ms` older than the latest in `ring`, or the
    /// first sample if the history is younger than that (`true`: since start).
    fn base(&self, ring: &VecDeque<Sample>, span_ms: u64) -> (Sample, bool) {
        let latest = self.latest();
        let Some(cutoff) = latest.at_ms.checked_sub(span_ms) else {
            return (self.first, true);
        };
        // Samples are in time order: the last one at or before the cutoff.
        let index = ring.partition_point(|sample| sample.at_ms <= cutoff);
        match index {
            0 if ring.front() == Some(&self.first) => (self.first, true),
            // The ring no longer reaches back that far (samples came late): its oldest.
            0 => (ring[0], false),
            index => (ring[index - 1], false),
        }
    }

    /// The status of the indicator promising `target`.
    pub(crate) fn status(&self, target: Target) -> SliStatus {
        let budget = target.budget();
        let latest = self.latest();
        let windows = self.spans.windows_ms.map(|span_ms| {
            let (base, since_start) = self.base(&self.fine, span_ms);
            let (total, bad) = delta(base, latest);
            let error_ratio = (total > 0).then(|| bad as f64 / total as f64);
            WindowStatus {
                error_ratio,
                burn_rate: error_ratio.map(|ratio| ratio / budget),
                since_start,
            }
        });
        let (base, budget_since_start) = self.base(&self.coarse, self.spans.window_ms);
        let (total, bad) = delta(base, latest);
        let budget_remaining = if total == 0 {
            1.0
        } else {
            1.0 - bad as f64 / (budget * total as f64)
        };
        let holds = |alert: Alert| {
            let (long, short) = alert.windows();
            let above = |index: usize| {
                windows[index]
                    .burn_rate
                    .is_some_and(|burn| burn > alert.burn_rate())
            };
            above(long) && above(short)
        };
        let alert = [Alert::Page, Alert::Ticket]
            .into_iter()
            .find(|&alert| holds(alert));
        let state = match alert {
            Some(Alert::Page) => State::Breach,
            _ if total > 0 && budget_remaining <= 0.0 => State::Breach,
            Some(Alert::Ticket) => State::Warning,
            None => State::Ok,
        };
        SliStatus {
            target,
            total: latest.total,
            bad: latest.bad,
            windows,
            budget_remaining,
            budget_since_start,
            alert,
            state,
        }
    }
}

/// Events and bad events between two samples; none across a drop.
fn delta(base: Sample, latest: Sample) -> (u64, u64) {
    if latest.total < base.total || latest.bad < base.bad {
        return (0, 0);
    }
    (latest.total - base.total, latest.bad - base.bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    /// A success-rate target with error budget `budget`.
    fn budget(budget: f64) -> Target {
        Target {
            target: 1.0 - budget,
            threshold_seconds: None,
        }
    }

    /// Unscaled spans, a 30-day window, sampled every 10 s.
    fn spans() -> Spans {
        Spans::new(
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(10),
            1.0,
        )
    }

    fn sample(minute: u64, total: u64, bad: u64) -> Sample {
        Sample {
            at_ms: minute * MINUTE,
            total,
            bad,
        }
    }

    /// A history sampled every minute from minute 0 to `minutes`, `calls` calls a
    /// minute of which `bad(minute)` fail.
    fn steady(minutes: u64, calls: u64, bad: impl Fn(u64) -> u64) -> History {
        let mut history = History::new(sample(0, 0, 0), spans());
        let (mut total, mut failed) = (0, 0);
        for minute in 1..=minutes {
            total += calls;
            failed += bad(minute);
            history.push(sample(minute, total, failed));
        }
        history
    }

    #[test]
    fn spans_scale_every_window_and_the_cadence() {
        let spans = Spans::new(
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(10),
            60.0,
        );
        assert_eq!(spans.windows_ms, [5_000, 30_000, 60_000, 360_000]);
        assert_eq!(spans.window_ms, 43_200_000);
        assert_eq!(spans.cadence_ms, 167);
        assert_eq!(spans.fine_capacity(), 2158);
        assert_eq!(spans.coarse_step_ms(), 60_000);
        // Never sampled faster than every 10 ms.
        let fast = Spans::new(Duration::from_secs(86_400), Duration::from_secs(10), 1e6);
        assert_eq!(fast.cadence_ms, 10);
    }

    #[test]
    fn ratios_and_burn_rates_from_known_counts() {
        // 7 hours at 1,000 calls a minute; 10 failures a minute in the last 30 minutes,
        // none before.
        let history = steady(420, 1_000, |minute| if minute > 390 { 10 } else { 0 });
        let status = history.status(budget(0.001));
        assert_eq!((status.total, status.bad), (420_000, 300));
        let ratios: Vec<Option<f64>> = status.windows.iter().map(|w| w.error_ratio).collect();
        assert_eq!(
            ratios,
            [
                Some(50.0 / 5_000.0),
                Some(300.0 / 30_000.0),
                Some(300.0 / 60_000.0),
                Some(300.0 / 360_000.0),
            ]
        );
        let burns: Vec<Option<f64>> = status.windows.iter().map(|w| w.burn_rate).collect();
        assert_eq!(
            burns,
            [
                Some(50.0 / 5_000.0 / 0.001),
                Some(300.0 / 30_000.0 / 0.001),
                Some(300.0 / 60_000.0 / 0.001),
                Some(300.0 / 360_000.0 / 0.001),
            ]
        );
        assert!(status.windows.iter().all(|w| !w.since_start));
        // 10x over 5 m, 5x over 1 h: no page; 0.83x over 6 h: no ticket.
        assert_eq!(status.alert, None);
        // 7 hours of a 30-day window: since start.
        assert!(status.budget_since_start);
        assert_eq!(status.budget_remaining, 1.0 - 300.0 / (0.001 * 420_000.0));
        assert_eq!(status.state, State::Ok);
    }

    #[test]
    fn a_fast_burn_pages() {
        // 2 hours at 100 calls a minute, 2% failing throughout: burn 20 everywhere.
        let history = steady(120, 100, |_| 2);
        let status = history.status(budget(0.001));
        assert_eq!(status.windows[W5M].burn_rate, Some(0.02 / 0.001));
        assert_eq!(status.windows[W1H].burn_rate, Some(0.02 / 0.001));
        // 6 h reaches back before the start.
        assert!(status.windows[W6H].since_start);
        assert_eq!(status.windows[W6H].error_ratio, Some(240.0 / 12_000.0));
        assert_eq!(status.alert, Some(Alert::Page));
        assert_eq!(status.state, State::Breach);
    }

    #[test]
    fn a_slow_burn_opens_a_ticket_only() {
        // Three healthy days, then 7 hours with 1% failing: burn 10 with a 99.9% target.
        let history = steady(4_320 + 420, 100, |minute| u64::from(minute > 4_320));
        let status = history.status(budget(0.001));
        assert_eq!(status.windows[W6H].burn_rate, Some(0.01 / 0.001));
        assert_eq!(status.windows[W1H].burn_rate, Some(0.01 / 0.001));
        // Not 14.4x: no page. The budget since start is not spent yet (420 of 474).
        assert_eq!(status.alert, Some(Alert::Ticket));
        assert_eq!(status.budget_remaining, 1.0 - 420.0 / (0.001 * 474_000.0));
        assert_eq!(status.state, State::Warning);
        // The same 7 hours without the healthy days before: at this rate the budget of
        // the events so far is overspent, a breach.
        let alone = steady(420, 100, |_| 1).status(budget(0.001));
        assert_eq!(alone.alert, Some(Alert::Ticket));
        assert_eq!(alone.state, State::Breach);
    }

    #[test]
    fn a_short_spike_pages_only_while_both_windows_burn() {
        // 2 hours healthy, then 3 minutes of all calls failing.
        let spike = |minute: u64| if minute > 120 { 100 } else { 0 };
        let during = steady(123, 100, spike).status(budget(0.001));
        // 5 m: 300 of 500 bad (60%); 1 h: 300 of 6,000 (5%): both above 14.4x 0.1%.
        assert_eq!(during.windows[W5M].error_ratio, Some(300.0 / 500.0));
        assert_eq!(during.windows[W1H].error_ratio, Some(300.0 / 6_000.0));
        assert_eq!(during.alert, Some(Alert::Page));
        // Ten minutes after the spike the 5 m window is clean: no page. The 30 m and 6 h
        // windows still burn past 6x (300 of 3,000 and of 13,300): a ticket.
        let after = steady(
            133,
            100,
            |minute| if minute <= 123 { spike(minute) } else { 0 },
        )
        .status(budget(0.001));
        assert_eq!(after.windows[W5M].error_ratio, Some(0.0));
        assert_eq!(after.windows[W30M].error_ratio, Some(300.0 / 3_000.0));
        assert_eq!(after.alert, Some(Alert::Ticket));
        // 300 bad of a budget of 13.3 calls: the budget is overspent, a breach.
        assert!(after.budget_remaining < 0.0);
        assert_eq!(after.state, State::Breach);
    }

    #[test]
    fn no_events_no_ratio_and_a_full_budget() {
        let status = steady(10, 0, |_| 0).status(budget(0.01));
        assert!(status
            .windows
            .iter()
            .all(|w| w.error_ratio.is_none() && w.burn_rate.is_none()));
        assert_eq!(status.budget_remaining, 1.0);
        assert_eq!((status.alert, status.state), (None, State::Ok));
    }

    #[test]
    fn the_budget_window_slides_once_the_history_is_longer() {
        // A one-day window sampled every minute for two days: 10 failures on day one,
        // 5 on day two, of 1,440 calls a day.
        let spans = Spans::new(Duration::from_secs(86_400), Duration::from_secs(60), 1.0);
        let mut history = History::new(sample(0, 0, 0), spans);
        for minute in 1..=2_880 {
            let bad = if minute <= 1_440 {
                minute / 144
            } else {
                10 + (minute - 1_440) / 288
            };
            history.push(sample(minute, minute, bad));
        }
        let status = history.status(budget(0.01));
        assert!(!status.budget_since_start);
        // The coarse ring steps every 2 minutes (1 day / 720): its base is the sample at
        // minute 1,440 exactly.
        assert_eq!(status.budget_remaining, 1.0 - 5.0 / (0.01 * 1_440.0));
    }

    #[test]
    fn rings_stay_bounded() {
        let history = steady(3 * 24 * 60, 1, |_| 0);
        assert!(history.fine.len() <= spans().fine_capacity());
        assert!(history.coarse.len() <= COARSE_STEPS as usize + 2);
    }

    #[test]
    fn a_counter_that_went_down_shows_no_events() {
        let mut history = History::new(sample(0, 100, 10), spans());
        history.push(sample(1, 5, 0));
        let status = history.status(budget(0.01));
        assert_eq!(status.windows[W5M].error_ratio, None);
        assert_eq!(status.budget_remaining, 1.0);
    }
}
