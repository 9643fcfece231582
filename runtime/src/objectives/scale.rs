//! The objectives' clock: the cadence of the sampler, the instant samples are timed
//! from, and the time scale that shrinks every window for tests.

use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

/// The environment variable that shrinks every objective window: `60` makes 1 h last
/// one minute, 5 m five seconds and a 30-day window twelve hours; the sampler's cadence
/// and the generated rules' windows and `for` durations shrink alike. For tests and
/// demonstrations of alerts; unset (or `1`) in production.
pub const TIME_SCALE_VAR: &str = "EXPVAR_OBJECTIVE_TIME_SCALE";

/// Time between two samples of an objective's counts, before the time scale: 10 s, so
/// the 5-minute window is known to within 1/30.
pub(crate) const CADENCE: Duration = Duration::from_secs(10);

static TIME_SCALE: Lazy<f64> = Lazy::new(|| {
    let Ok(text) = std::env::var(TIME_SCALE_VAR) else {
        return 1.0;
    };
    match text.trim().parse::<f64>() {
        Ok(scale) if scale >= 1.0 && scale.is_finite() => scale,
        _ => {
            log::warn!(
                "expvar: {TIME_SCALE_VAR}={text:?} is not a number of at least 1; objectives use real time"
            );
            1.0
        }
    }
});

/// The time scale objectives run at: what [`TIME_SCALE_VAR`] says (read once), else 1.
///
/// ```
/// // Unset in the doctests: real time.
/// assert_eq!(expvar::objectives::time_scale(), 1.0);
/// ```
pub fn time_scale() -> f64 {
    *TIME_SCALE
}

/// The instant samples are timed from.
static ORIGIN: Lazy<Instant> = Lazy::new(Instant::now);

/// Milliseconds since [`ORIGIN`] (which this starts, if it has not started).
pub(crate) fn now_ms() -> u64 {
    u64::try_from(ORIGIN.elapsed().as_millis()).unwrap_or(u64::MAX)
}
