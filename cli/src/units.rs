//! What a value measures, guessed from its path, and how to print it briefly.

/// The unit of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Seconds,
    Nanoseconds,
    Plain,
}

/// Go's `memstats` fields counted in bytes.
const MEMSTATS_BYTES: &[&str] = &[
    "Alloc",
    "TotalAlloc",
    "Sys",
    "HeapAlloc",
    "HeapSys",
    "HeapIdle",
    "HeapInuse",
    "HeapReleased",
    "StackInuse",
    "StackSys",
    "MSpanInuse",
    "MSpanSys",
    "MCacheInuse",
    "MCacheSys",
    "BuckHashSys",
    "GCSys",
    "OtherSys",
    "NextGC",
];

/// Go's `memstats` fields that only grow while the process lives.
const MEMSTATS_COUNTERS: &[&str] = &[
    "TotalAlloc",
    "Lookups",
    "Mallocs",
    "Frees",
    "PauseTotalNs",
    "NumGC",
    "NumForcedGC",
];

/// The unit of the value at `path`.
///
/// ```
/// use expvar_cli::units::{unit_of, Unit};
/// assert_eq!(unit_of("memstats.HeapAlloc"), Unit::Bytes);
/// assert_eq!(unit_of("process.resident_memory_bytes"), Unit::Bytes);
/// assert_eq!(unit_of("memstats.PauseTotalNs"), Unit::Nanoseconds);
/// assert_eq!(unit_of("uptime_seconds"), Unit::Seconds);
/// assert_eq!(unit_of("requests"), Unit::Plain);
/// ```
pub fn unit_of(path: &str) -> Unit {
    let last = path.rsplit('.').next().unwrap_or(path);
    let memstats_bytes = path.starts_with("memstats.") && MEMSTATS_BYTES.contains(&last);
    if memstats_bytes || last.ends_with("_bytes") || last.ends_with("Bytes") {
        Unit::Bytes
    } else if last.ends_with("Ns") || last.ends_with("_ns") {
        Unit::Nanoseconds
    } else if last.ends_with("_seconds") || last == "sum" && path.contains("duration") {
        Unit::Seconds
    } else {
        Unit::Plain
    }
}

/// Whether the value at `path` is a counter, shown as a rate per second.
///
/// ```
/// use expvar_cli::units::is_counter;
/// assert!(is_counter("http_requests_total"));
/// assert!(is_counter("memstats.NumGC"));
/// assert!(is_counter("functions.app::get.calls"));
/// assert!(!is_counter("memstats.HeapAlloc"));
/// ```
pub fn is_counter(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.ends_with("_total")
        || path == "process.cpu_seconds"
        || path.starts_with("memstats.") && MEMSTATS_COUNTERS.contains(&last)
        || path.starts_with("functions.") && matches!(last, "calls" | "errors")
}

/// `value` in `unit`, in at most about 10 characters: `12.3 MiB`, `1.5ms`, `4.2k`.
///
/// ```
/// use expvar_cli::units::{format, Unit};
/// assert_eq!(format(5.0 * 1024.0 * 1024.0, Unit::Bytes), "5.0 MiB");
/// assert_eq!(format(1_500_000.0, Unit::Nanoseconds), "1.50ms");
/// assert_eq!(format(90.0, Unit::Seconds), "1m30s");
/// assert_eq!(format(12345.0, Unit::Plain), "12.3k");
/// assert_eq!(format(42.0, Unit::Plain), "42");
/// ```
pub fn format(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    match unit {
        Unit::Bytes => bytes(value),
        Unit::Seconds => seconds(value),
        Unit::Nanoseconds => seconds(value / 1e9),
        Unit::Plain => plain(value),
    }
}

/// A rate per second of a value in `unit`: `1.2 MiB/s`, `3.00ms/s`, `12.5/s`.
pub fn format_rate(per_second: f64, unit: Unit) -> String {
    format!("{}/s", format(per_second, unit))
}

fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut scaled = value;
    let mut unit = 0;
    while scaled.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{scaled:.0} B")
    } else {
        format!("{scaled:.1} {}", UNITS[unit])
    }
}

fn seconds(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0s".to_owned()
    } else if magnitude < 1e-6 {
        format!("{:.0}ns", value * 1e9)
    } else if magnitude < 1e-3 {
        format!("{:.1}µs", value * 1e6)
    } else if magnitude < 1.0 {
        format!("{:.2}ms", value * 1e3)
    } else if magnitude < 60.0 && value.fract() == 0.0 {
        format!("{value:.0}s")
    } else if magnitude < 60.0 {
        format!("{value:.2}s")
    } else if magnitude < 3600.0 {
        format!("{}m{:02}s", (value / 60.0).floor(), (value % 60.0).floor())
    } else if magnitude < 86400.0 {
        format!(
            "{}h{:02}m",
            (value / 3600.0).floor(),
            (value % 3600.0 / 60.0).floor()
        )
    } else {
        format!(
            "{}d{:02}h",
            (value / 86400.0).floor(),
            (value % 86400.0 / 3600.0).floor()
        )
    }
}

fn plain(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_stay_short() {
        assert_eq!(format(512.0, Unit::Bytes), "512 B");
        assert_eq!(
            format(3.0 * 1024.0 * 1024.0 * 1024.0, Unit::Bytes),
            "3.0 GiB"
        );
        assert_eq!(format(0.000_002, Unit::Seconds), "2.0µs");
        assert_eq!(format(7200.0, Unit::Seconds), "2h00m");
        assert_eq!(format(200_000.0, Unit::Seconds), "2d07h");
        assert_eq!(format(0.25, Unit::Plain), "0.25");
        assert_eq!(format(2.5e9, Unit::Plain), "2.5G");
        assert_eq!(format_rate(2048.0, Unit::Bytes), "2.0 KiB/s");
        assert_eq!(format_rate(19.5, Unit::Plain), "19.5/s");
        assert_eq!(format(f64::NAN, Unit::Plain), "NaN");
    }
}
