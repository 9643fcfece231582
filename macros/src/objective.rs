//! The objective syntax of `#[counted(objective = "99.9%")]`, `#[timed(objective = "99%
//! < 250ms")]` and `window = "7d"`, read at compile time so a mistake is an error at
//! its literal. The runtime reads the same syntax for the command line
//! (`runtime/src/objectives/spec.rs`); the two agree through the tests on both sides.

/// What an `objective = "..."` promises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Promise {
    /// The share of good calls, such as `0.999`.
    pub(crate) target: f64,
    /// For a latency objective, the threshold in seconds.
    pub(crate) threshold: Option<f64>,
}

/// The longest window: 90 days.
const MAX_WINDOW_DAYS: u64 = 90;

/// The default window: 30 days, in seconds.
pub(crate) const DEFAULT_WINDOW_SECONDS: u64 = 30 * 86_400;

/// The `le` bounds of a `#[timed]` function without `buckets`: the powers of two from
/// 2^-12 to 2^4 seconds, as `expvar::vars::DEFAULT_BUCKETS` is (a runtime test holds
/// that list to this rule).
pub(crate) fn default_buckets() -> impl Iterator<Item = f64> {
    (-12..=4).map(|exponent| 2f64.powi(exponent))
}

/// `"99.9%"` or `"99% < 250ms"`.
pub(crate) fn parse_objective(text: &str) -> Result<Promise, String> {
    let (percent, threshold) = match text.split_once('<') {
        Some((percent, threshold)) => (percent, Some(threshold.trim())),
        None => (text, None),
    };
    let percent = percent.trim();
    let Some(number) = percent.strip_suffix('%') else {
        return Err(format!(
            "expected a percentage such as `99.9%` or a latency such as `99% < 250ms`, found `{text}`"
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .ok()
        .filter(|value: &f64| value.is_finite())
        .ok_or_else(|| format!("`{percent}` is not a percentage such as `99.9%`"))?;
    if value <= 0.0 || value >= 100.0 {
        return Err(format!(
            "an objective must be more than 0% and less than 100%, not `{percent}`"
        ));
    }
    // Through 12 decimals of text, so `99.9%` is the f64 nearest to 0.999, as at run time.
    let target = format!("{:.12}", value / 100.0)
        .parse()
        .unwrap_or(value / 100.0);
    let threshold = threshold.map(parse_duration).transpose()?;
    Ok(Promise { target, threshold })
}

/// `"250ms"`, `"1.5s"`: seconds. Milliseconds are divided, not multiplied, so `700ms` is
/// the f64 nearest to 0.7, as a bucket bound written `0.7` is.
pub(crate) fn parse_duration(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let malformed = || {
        format!("`{text}` is not a duration: write a number and a unit, as in `250ms` or `1.5s`")
    };
    let value: f64 = number.parse().map_err(|_| malformed())?;
    let seconds = match unit.trim() {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(malformed()),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!(
            "a latency threshold must be more than 0, not `{text}`"
        ));
    }
    Ok(seconds)
}

/// `"30d"`, `"4w"`: seconds; whole days or weeks, 1 to 90 days.
pub(crate) fn parse_window(text: &str) -> Result<u64, String> {
    let unknown = || {
        format!(
            "unknown window `{text}`: write whole days or weeks, as in `7d`, `30d` or `4w` (1d to {MAX_WINDOW_DAYS}d)"
        )
    };
    let (number, days_per_unit) = if let Some(number) = text.strip_suffix('d') {
        (number, 1)
    } else if let Some(number) = text.strip_suffix('w') {
        (number, 7)
    } else {
        return Err(unknown());
    };
    let count: u64 = number.parse().map_err(|_| unknown())?;
    match count.checked_mul(days_per_unit) {
        Some(days) if (1..=MAX_WINDOW_DAYS).contains(&days) => Ok(days * 86_400),
        _ => Err(unknown()),
    }
}

/// `0.25` as `250ms`, for messages.
pub(crate) fn format_seconds(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds}s")
    } else if seconds >= 1e-3 {
        format!("{}ms", seconds * 1e3)
    } else {
        format!("{}us", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_as_the_runtime_parses_them() {
        assert_eq!(
            parse_objective("99.9%"),
            Ok(Promise {
                target: 0.999,
                threshold: None
            })
        );
        assert_eq!(
            parse_objective("99% < 250ms"),
            Ok(Promise {
                target: 0.99,
                threshold: Some(0.25)
            })
        );
        assert_eq!(parse_duration("700ms"), Ok(0.7));
        assert_eq!(parse_duration("62.5ms"), Ok(0.0625));
        assert_eq!(parse_window("7d"), Ok(7 * 86_400));
        assert_eq!(parse_window("4w"), Ok(28 * 86_400));
        for bad in ["100%", "0%", "99.9", "99% < 250", "99% < 0ms"] {
            assert!(parse_objective(bad).is_err(), "{bad}");
        }
        for bad in ["7y", "0d", "91d", "week"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
        assert_eq!(default_buckets().next(), Some(0.000_244_140_625));
        assert_eq!(default_buckets().last(), Some(16.0));
    }
}
