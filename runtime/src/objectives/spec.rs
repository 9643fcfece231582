//! What an objective promises, as written (`"99.9%"`, `"99% < 250ms"`, `"7d"`) and as
//! numbers. The macros parse the same syntax at compile time; this parser serves the
//! command line (`expvar rules --objective ...`) and the documents it reads.

use std::fmt;
use std::time::Duration;

/// The window an objective is measured over when none is given: 30 days.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 86_400);

/// The longest window accepted: 90 days.
pub(crate) const MAX_WINDOW_DAYS: u64 = 90;

/// Which kind of service level indicator: the share of calls that succeed, or of calls
/// faster than a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SliKind {
    /// Calls that did not fail (an `Err`, `None` or panic is a failure).
    Success,
    /// Calls that took no longer than the threshold.
    Latency,
}

impl SliKind {
    /// `success` or `latency`: the `sli` label at `/metrics` and in the rules.
    pub fn as_str(self) -> &'static str {
        match self {
            SliKind::Success => "success",
            SliKind::Latency => "latency",
        }
    }
}

impl fmt::Display for SliKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One promise: the share of good events (`target`, between 0 and 1 exclusive) and,
/// for latency, the threshold a good call stays within.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The share of good events promised, such as `0.999`.
    pub target: f64,
    /// For a latency promise, the threshold in seconds; `None` for a success rate.
    pub threshold_seconds: Option<f64>,
}

impl Target {
    /// The indicator this target is about.
    pub fn kind(&self) -> SliKind {
        if self.threshold_seconds.is_some() {
            SliKind::Latency
        } else {
            SliKind::Success
        }
    }

    /// The error budget: the share of events allowed to be bad, `1 - target`, rounded to
    /// 12 decimals so `99%` gives exactly the `f64` nearest to 0.01 and burn rates of
    /// round counts come out round.
    pub fn budget(&self) -> f64 {
        budget_of(self.target)
    }

    /// Parses `"99.9%"` (a success rate) or `"99% < 250ms"` (a latency objective).
    ///
    /// ```
    /// use expvar::objectives::Target;
    ///
    /// let latency = Target::parse("99% < 250ms").unwrap();
    /// assert_eq!((latency.target, latency.threshold_seconds), (0.99, Some(0.25)));
    /// assert!(Target::parse("100%").unwrap_err().to_string().contains("less than 100%"));
    /// ```
    pub fn parse(text: &str) -> Result<Target, SpecError> {
        let (percent, threshold) = match text.split_once('<') {
            Some((percent, threshold)) => (percent, Some(threshold)),
            None => (text, None),
        };
        let target = parse_percentage(percent.trim())?;
        let threshold_seconds = threshold
            .map(|threshold| parse_duration(threshold.trim()).map(|d| d.as_secs_f64()))
            .transpose()?;
        Ok(Target {
            target,
            threshold_seconds,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_percent(self.target))?;
        if let Some(threshold) = self.threshold_seconds {
            write!(f, " < {}", format_seconds(threshold))?;
        }
        Ok(())
    }
}

/// `1 - target`, rounded to 12 decimals (see [`Target::budget`]).
pub(crate) fn budget_of(target: f64) -> f64 {
    ((1.0 - target) * 1e12).round() / 1e12
}

/// Why a target, duration or window was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn error(message: String) -> SpecError {
    SpecError(message)
}

/// `"99.9%"` as `0.999`: more than 0% and less than 100%.
pub(crate) fn parse_percentage(text: &str) -> Result<f64, SpecError> {
    let Some(number) = text.strip_suffix('%') else {
        return Err(error(format!(
            "expected a percentage such as `99.9%`, found `{text}`"
        )));
    };
    let percent: f64 = number
        .trim()
        .parse()
        .ok()
        .filter(|percent: &f64| percent.is_finite())
        .ok_or_else(|| error(format!("`{text}` is not a percentage such as `99.9%`")))?;
    if percent <= 0.0 || percent >= 100.0 {
        return Err(error(format!(
            "an objective must be more than 0% and less than 100%, found `{text}`"
        )));
    }
    // Through 12 decimals of text, so `99.9%` is the f64 nearest to 0.999 (99.9 / 100 is
    // 0.9990000000000001).
    Ok(format!("{:.12}", percent / 100.0)
        .parse()
        .unwrap_or(percent / 100.0))
}

/// `"250ms"`, `"1.5s"`, `"2m"`: a positive number with a unit (`ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h`).
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        error(format!(
            "`{text}` is not a duration: write a number and a unit, as in `250ms` or `1.5s`"
        ))
    })?;
    // Divided, not multiplied, so `700ms` is the f64 nearest to 0.7, as a bucket bound
    // written `0.7` is (the macros read durations the same way).
    let seconds = match unit.trim() {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(error(format!(
                "`{text}` is not a duration: write a number and a unit, as in `250ms` or `1.5s`"
            )))
        }
    };
    if !(seconds > 0.0 && seconds.is_finite() && seconds < 1e9) {
        return Err(error(format!(
            "a duration must be more than 0, found `{text}`"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `"30d"`, `"4w"`: a whole number of days or weeks, from 1 day to 90.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(expvar::objectives::parse_window("7d").unwrap(), Duration::from_secs(7 * 86_400));
/// assert!(expvar::objectives::parse_window("7y").is_err());
/// ```
pub fn parse_window(text: &str) -> Result<Duration, SpecError> {
    let unknown = || {
        error(format!(
            "unknown window `{text}`: write whole days or weeks, as in `7d`, `30d` or `4w` (1d to {MAX_WINDOW_DAYS}d)"
        ))
    };
    let (number, days_per_unit) = if let Some(number) = text.strip_suffix('d') {
        (number, 1)
    } else if let Some(number) = text.strip_suffix('w') {
        (number, 7)
    } else {
        return Err(unknown());
    };
    let count: u64 = number.parse().map_err(|_| unknown())?;
    let days = count.checked_mul(days_per_unit).ok_or_else(unknown)?;
    if days == 0 || days > MAX_WINDOW_DAYS {
        return Err(unknown());
    }
    Ok(Duration::from_secs(days * 86_400))
}

/// A window as written: `30d`, `7d`; hours or seconds when it is not whole days (a
/// window shrunk by the [time scale](super::time_scale)).
pub fn format_window(window: Duration) -> String {
    let seconds = window.as_secs();
    if window.subsec_nanos() == 0 && seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else {
        format_seconds(window.as_secs_f64())
    }
}

/// Seconds as the shortest of `500us`, `250ms`, `1.5s`, `2m`, `6h`.
pub(crate) fn format_seconds(seconds: f64) -> String {
    let micros = (seconds * 1e6).round() as u64;
    const HOUR: u64 = 3_600_000_000;
    const MINUTE: u64 = 60_000_000;
    const SECOND: u64 = 1_000_000;
    if micros >= HOUR && micros % HOUR == 0 {
        format!("{}h", micros / HOUR)
    } else if micros >= MINUTE && micros % MINUTE == 0 {
        format!("{}m", micros / MINUTE)
    } else if micros >= SECOND {
        format!("{}s", micros as f64 / SECOND as f64)
    } else if micros >= 1000 {
        format!("{}ms", micros as f64 / 1000.0)
    } else {
        format!("{micros}us")
    }
}

/// `0.999` as `99.9`.
pub(crate) fn format_percent(target: f64) -> String {
    // Through 10 significant decimals: 0.999 * 100 is 99.9 in text, not 99.90000000000001.
    let text = format!("{:.10}", target * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for (text, target, threshold) in [
            ("99.9%", 0.999, None),
            ("99%", 0.99, None),
            ("99.99 %", 0.9999, None),
            ("99% < 250ms", 0.99, Some(0.25)),
            ("95%<1.5s", 0.95, Some(1.5)),
            ("90% < 2m", 0.9, Some(120.0)),
        ] {
            let parsed = Target::parse(text).unwrap();
            assert_eq!(parsed.target, target, "{text}");
            assert_eq!(parsed.threshold_seconds, threshold, "{text}");
        }
        assert_eq!(Target::parse("99.9%").unwrap().to_string(), "99.9%");
        assert_eq!(
            Target::parse("99% < 250ms").unwrap().to_string(),
            "99% < 250ms"
        );
        assert_eq!(Target::parse("99%").unwrap().budget(), 0.01);
        assert_eq!(Target::parse("99.9%").unwrap().budget(), 0.001);
    }

    #[test]
    fn bad_targets_say_why() {
        for (text, says) in [
            ("0%", "more than 0%"),
            ("100%", "less than 100%"),
            ("120%", "less than 100%"),
            ("-1%", "more than 0%"),
            ("99.9", "expected a percentage"),
            ("abc%", "not a percentage"),
            ("99% < 250", "not a duration"),
            ("99% < 250 parsecs", "not a duration"),
            ("99% < 0ms", "more than 0"),
        ] {
            let message = Target::parse(text).unwrap_err().to_string();
            assert!(message.contains(says), "{text}: {message}");
        }
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("30d").unwrap(), DEFAULT_WINDOW);
        assert_eq!(
            parse_window("4w").unwrap(),
            Duration::from_secs(28 * 86_400)
        );
        for bad in ["0d", "91d", "7", "7y", "7 d", "d", "1.5d", "14w"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
        assert_eq!(format_window(DEFAULT_WINDOW), "30d");
        assert_eq!(format_window(Duration::from_secs(43_200)), "12h");
        assert_eq!(format_window(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format_seconds(0.25), "250ms");
        assert_eq!(format_seconds(300.0), "5m");
        assert_eq!(format_seconds(0.0005), "500us");
        assert_eq!(format_seconds(0.0015), "1.5ms");
        assert_eq!(format_seconds(90.0), "90s");
    }
}
