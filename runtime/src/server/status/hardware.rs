//! `/status/hardware/{disk,ram,cpu}`: how full the machine is, with warning and critical
//! thresholds that set the status code, so a plain HTTP check can alert on them.
//!
//! The pattern of Go services built on gin: `200` below the warning threshold, `429 Too
//! Many Requests` from warning, `500 Internal Server Error` from critical.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

use once_cell::sync::Lazy;
use serde_json::{json, Value};
use sysinfo::{Disks, System, MINIMUM_CPU_UPDATE_INTERVAL};

/// A resource reported under `/status/hardware/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hardware {
    /// `/status/hardware/disk`: the file system holding the configured path (default `/`).
    Disk,
    /// `/status/hardware/ram`: the machine's memory.
    Ram,
    /// `/status/hardware/cpu`: busy time of all CPUs.
    Cpu,
}

impl Hardware {
    pub(crate) fn from_path(name: &str) -> Option<Hardware> {
        match name {
            "disk" => Some(Hardware::Disk),
            "ram" => Some(Hardware::Ram),
            "cpu" => Some(Hardware::Cpu),
            _ => None,
        }
    }
}

/// Percentages of use from which a hardware endpoint reports a warning (`429`) or a
/// critical state (`500`). The default for every resource is 90 and 95.
///
/// A threshold above 100 is never reached, which turns that level off.
///
/// ```
/// use expvar::server::{Hardware, Thresholds};
///
/// let server = expvar::ServerBuilder::new()
///     .addr("127.0.0.1:0")
///     .hardware_thresholds(Hardware::Disk, Thresholds::new(80.0, 90.0))
///     // Never critical, only a warning:
///     .hardware_thresholds(Hardware::Cpu, Thresholds::new(95.0, f64::INFINITY))
///     .start()
///     .unwrap();
/// # server.shutdown();
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    warning: f64,
    critical: f64,
}

impl Thresholds {
    /// Warning from `warning` percent, critical from `critical` percent.
    ///
    /// # Panics
    /// If either is NaN or `warning` is above `critical`.
    pub fn new(warning: f64, critical: f64) -> Self {
        assert!(
            !warning.is_nan() && !critical.is_nan() && warning <= critical,
            "hardware thresholds need warning <= critical, got warning {warning} and critical {critical}"
        );
        Thresholds { warning, critical }
    }

    /// The warning threshold, in percent.
    pub fn warning(&self) -> f64 {
        self.warning
    }

    /// The critical threshold, in percent.
    pub fn critical(&self) -> f64 {
        self.critical
    }

    fn level(&self, percent: f64) -> Level {
        if percent >= self.critical {
            Level::Critical
        } else if percent >= self.warning {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning: 90.0,
            critical: 95.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warning,
    Critical,
}

/// The hardware endpoints' settings, part of the server's configuration.
#[derive(Debug, Clone)]
pub(crate) struct HardwareConfig {
    pub(crate) disk: Thresholds,
    pub(crate) ram: Thresholds,
    pub(crate) cpu: Thresholds,
    pub(crate) disk_path: PathBuf,
}

impl Default for HardwareConfig {
    fn default() -> Self {
        HardwareConfig {
            disk: Thresholds::default(),
            ram: Thresholds::default(),
            cpu: Thresholds::default(),
            disk_path: PathBuf::from(if cfg!(windows) { "C:\\" } else { "/" }),
        }
    }
}

impl HardwareConfig {
    pub(crate) fn thresholds_mut(&mut self, resource: Hardware) -> &mut Thresholds {
        match resource {
            Hardware::Disk => &mut self.disk,
            Hardware::Ram => &mut self.ram,
            Hardware::Cpu => &mut self.cpu,
        }
    }
}

/// A hardware endpoint's answer: the HTTP status and the JSON body.
pub(crate) struct Report {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

/// Kept between requests for the memory figures.
static SYSTEM: Lazy<Mutex<System>> = Lazy::new(|| Mutex::new(System::new()));

/// How often the background thread measures CPU use.
const CPU_SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The latest CPU use in percent (`f64` bits); `u64::MAX` until the first measurement.
static CPU_PERCENT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Starts, once per process, the thread that measures CPU use every second: a
/// measurement is the difference between two readings, and no request should wait
/// for the second one.
pub(crate) fn start_cpu_sampler() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("expvar-cpu".into())
            .spawn(|| {
                let mut meter = CpuMeter::new();
                meter.percent();
                loop {
                    std::thread::sleep(CPU_SAMPLE_EVERY.max(MINIMUM_CPU_UPDATE_INTERVAL));
                    if let Some(usage) = meter.percent() {
                        CPU_PERCENT.store(usage.to_bits(), Relaxed);
                    }
                }
            });
        if let Err(error) = spawned {
            log::warn!("expvar: cannot measure CPU use: {error}");
        }
    });
}

/// The busy share of all CPUs between two readings, read from `/proc/stat` into a
/// fixed buffer: the thread runs for the life of the process, and a reading that
/// allocated (as `sysinfo`'s does, a few blocks a second) would show in the heap
/// figures of a process that does nothing.
#[cfg(target_os = "linux")]
struct CpuMeter {
    stat: Option<std::fs::File>,
    /// Busy and total time (in clock ticks) at the previous reading.
    last: Option<(u64, u64)>,
}

#[cfg(target_os = "linux")]
impl CpuMeter {
    fn new() -> Self {
        let stat = std::fs::File::open("/proc/stat");
        if let Err(error) = &stat {
            log::warn!("expvar: cannot measure CPU use: /proc/stat: {error}");
        }
        CpuMeter {
            stat: stat.ok(),
            last: None,
        }
    }

    /// Percent busy since the previous call; `None` at the first call or on an error.
    fn percent(&mut self) -> Option<f64> {
        use std::io::{Read, Seek, SeekFrom};
        let stat = self.stat.as_mut()?;
        // The first line, `cpu  user nice system idle ...`: ten numbers, under 256 bytes.
        let mut line = [0u8; 256];
        stat.seek(SeekFrom::Start(0)).ok()?;
        let mut filled = 0;
        while filled < line.len() && !line[..filled].contains(&b'\n') {
            match stat.read(&mut line[filled..]).ok()? {
                0 => break,
                read => filled += read,
            }
        }
        let now = busy_and_total(&line[..filled])?;
        let (busy, total) = self.last.replace(now)?;
        Some(percent(
            now.0.saturating_sub(busy) as f64,
            now.1.saturating_sub(total) as f64,
        ))
    }
}

/// Busy and total clock ticks from `/proc/stat`'s first line, counted as `sysinfo`
/// does: idle is `idle` and `iowait`; `guest` and `guest_nice` are already in `user`
/// and `nice`.
#[cfg(any(target_os = "linux", test))]
fn busy_and_total(stat: &[u8]) -> Option<(u64, u64)> {
    let line = stat.split(|byte| *byte == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.strip_prefix("cpu ")?;
    let mut times = [0u64; 8];
    let mut fields = line.split_ascii_whitespace();
    for time in &mut times {
        *time = fields.next()?.parse().ok()?;
    }
    let [_user, _nice, _system, idle, iowait, ..] = times;
    let total = times
        .iter()
        .fold(0u64, |sum, time| sum.saturating_add(*time));
    Some((total.saturating_sub(idle + iowait), total))
}

/// `sysinfo`'s global CPU use, where there is no `/proc/stat`.
#[cfg(not(target_os = "linux"))]
struct CpuMeter(System);

#[cfg(not(target_os = "linux"))]
impl CpuMeter {
    fn new() -> Self {
        CpuMeter(System::new())
    }

    fn percent(&mut self) -> Option<f64> {
        self.0.refresh_cpu_usage();
        Some(f64::from(self.0.global_cpu_usage()))
    }
}

pub(crate) fn report(resource: Hardware, config: &HardwareConfig) -> Report {
    match resource {
        Hardware::Disk => disk(&config.disk_path, config.disk),
        Hardware::Ram => ram(config.ram),
        Hardware::Cpu => cpu(config.cpu),
    }
}

fn assemble(thresholds: Thresholds, percent: f64, fields: Value) -> Report {
    let level = thresholds.level(percent);
    let (status, text) = match level {
        Level::Ok => (200, "OK"),
        Level::Warning => (429, "WARNING"),
        Level::Critical => (500, "CRITICAL"),
    };
    let mut body = json!({
        "status": text,
        "percent": round2(percent),
        "warning": finite_or_null(thresholds.warning),
        "critical": finite_or_null(thresholds.critical),
    });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    Report { status, body }
}

fn disk(path: &Path, thresholds: Thresholds) -> Report {
    let disks = Disks::new_with_refreshed_list();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    // The file system holding `path`: the disk with the longest mount point above it.
    let disk = disks
        .list()
        .iter()
        .filter(|disk| path.starts_with(disk.mount_point()))
        .max_by_key(|disk| disk.mount_point().as_os_str().len());
    let Some(disk) = disk else {
        return Report {
            status: 500,
            body: json!({
                "status": "UNKNOWN",
                "error": format!("no file system found for {}", path.display()),
            }),
        };
    };
    let total = disk.total_space();
    let used = total.saturating_sub(disk.available_space());
    assemble(
        thresholds,
        percent(used as f64, total as f64),
        json!({
            "used": used,
            "total": total,
            "path": path.display().to_string(),
            "mount_point": disk.mount_point().display().to_string(),
        }),
    )
}

fn ram(thresholds: Thresholds) -> Report {
    let (used, total) = {
        let mut system = SYSTEM.lock().unwrap_or_else(PoisonError::into_inner);
        system.refresh_memory();
        (system.used_memory(), system.total_memory())
    };
    assemble(
        thresholds,
        percent(used as f64, total as f64),
        json!({ "used": used, "total": total }),
    )
}

fn cpu(thresholds: Thresholds) -> Report {
    start_cpu_sampler();
    let usage = match CPU_PERCENT.load(Relaxed) {
        u64::MAX => {
            return Report {
                status: 503,
                body: json!({
                    "status": "UNKNOWN",
                    "error": "the first CPU measurement is not done yet; try again in a second",
                }),
            }
        }
        bits => f64::from_bits(bits),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = System::load_average();
    assemble(
        thresholds,
        usage,
        json!({
            "used": round2(usage / 100.0 * cores as f64),
            "total": cores,
            "load1": load.one,
            "load5": load.five,
            "load15": load.fifteen,
        }),
    )
}

fn percent(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        used / total * 100.0
    } else {
        0.0
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn finite_or_null(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_thresholds() {
        let thresholds = Thresholds::new(80.0, 90.0);
        assert_eq!(thresholds.level(79.9), Level::Ok);
        assert_eq!(thresholds.level(80.0), Level::Warning);
        assert_eq!(thresholds.level(90.0), Level::Critical);
        assert_eq!(Thresholds::new(101.0, 101.0).level(100.0), Level::Ok);
    }

    #[test]
    #[should_panic(expected = "warning <= critical")]
    fn warning_above_critical_is_refused() {
        let _ = Thresholds::new(95.0, 90.0);
    }

    #[test]
    fn cpu_is_measured_in_the_background() {
        // Unknown (503) only until the background thread's first measurement.
        let started = std::time::Instant::now();
        loop {
            let report = cpu(Thresholds::default());
            if report.status != 503 {
                assert!(report.body["percent"].as_f64().unwrap() >= 0.0);
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never measured"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = b"cpu  100 20 30 400 50 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        // user, nice, system, irq, softirq, steal are busy; guest is inside user.
        assert_eq!(busy_and_total(stat), Some((171, 621)));
        assert_eq!(busy_and_total(b"intr 1 2 3\n"), None);
        assert_eq!(busy_and_total(b"cpu  1 2\n"), None);
    }

    #[test]
    fn ram_reports_used_and_total() {
        let report = ram(Thresholds::default());
        let total = report.body["total"].as_u64().unwrap();
        assert!(total > 0);
        assert!(report.body["used"].as_u64().unwrap() <= total);
        assert_eq!(report.body["warning"], 90.0);
    }
}
