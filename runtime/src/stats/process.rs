//! The `process` variable: who this process is and what it uses, read from the OS.
//!
//! On Linux the figures come from two small `/proc/self` files and a directory listing,
//! read with `libc` into stack buffers (a few microseconds, no allocation); elsewhere
//! from `sysinfo`, refreshing only the current process.
//! (`sysinfo` on Linux spends about 200 µs per refresh even when asked for nothing,
//! which every scrape would pay twice, for `process` and for `memstats`.)

use std::cell::{Cell, RefCell};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::stats::heap;
use crate::vars::entry::Entry;
use crate::vars::{Var, Writer};

/// A snapshot of the current process, as the `process` variable publishes it.
///
/// Fields the OS does not report are `None` (open file descriptors on Windows, say).
///
/// ```
/// let process = expvar::stats::ProcessStats::read();
/// assert_eq!(process.pid, std::process::id());
/// assert!(process.resident_memory_bytes > 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessStats {
    /// Process id.
    pub pid: u32,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: u64,
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// Version of the `expvar` crate serving the statistics.
    pub expvar_version: &'static str,
    /// `rustc --version` of the compiler that built it.
    pub rustc_version: &'static str,
    /// Operating system (`std::env::consts::OS`).
    pub os: &'static str,
    /// CPU architecture (`std::env::consts::ARCH`).
    pub arch: &'static str,
    /// CPUs this process may run on (`std::thread::available_parallelism`).
    pub cores: u64,
    /// Threads of the process.
    pub threads: Option<u64>,
    /// Resident set size: bytes of the process in RAM.
    pub resident_memory_bytes: u64,
    /// Bytes of virtual address space.
    pub virtual_memory_bytes: u64,
    /// CPU time used by all threads, user and system, in seconds. Nanosecond resolution
    /// on Unix (`CLOCK_PROCESS_CPUTIME_ID`), not the 10 ms of clock ticks.
    pub cpu_seconds: f64,
    /// Open file descriptors (handles).
    pub open_fds: Option<u64>,
    /// The limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// Where `memstats` takes its heap figures from: `"glibc"` (`mallinfo2()`),
    /// `"jemalloc"` (with the `jemalloc` feature, when jemalloc is the global allocator)
    /// or `"resident"` (no allocator statistics: the resident set stands for the heap),
    /// prefixed with `"CountingAlloc+"` when [`CountingAlloc`](crate::CountingAlloc)
    /// counts the allocations. The README's `memstats` section maps each field.
    pub memstats_source: &'static str,
}

impl ProcessStats {
    /// Reads the current figures from the OS.
    ///
    /// Cheap: a handful of small `/proc/self` reads on Linux; no other process is
    /// looked at and nothing is paused.
    pub fn read() -> ProcessStats {
        let pid = std::process::id();
        let mut stats = ProcessStats {
            pid,
            start_time_seconds: 0,
            uptime_seconds: 0.0,
            expvar_version: env!("CARGO_PKG_VERSION"),
            rustc_version: env!("EXPVAR_RUSTC_VERSION"),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cores: cores(),
            threads: None,
            resident_memory_bytes: 0,
            virtual_memory_bytes: 0,
            cpu_seconds: 0.0,
            open_fds: None,
            max_fds: None,
            memstats_source: memstats_source(),
        };
        let start_time = os::read(&mut stats);
        if let Some(cpu_seconds) = process_cpu_seconds() {
            stats.cpu_seconds = cpu_seconds;
        }
        if let (Some(start_time), Some(now)) = (start_time, now_seconds()) {
            stats.start_time_seconds = start_time as u64;
            stats.uptime_seconds = (now - start_time).max(0.0);
        }
        stats
    }
}

/// Wall-clock seconds since the Unix epoch.
fn now_seconds() -> Option<f64> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    Some(now.as_secs_f64())
}

/// CPUs this process may run on, read once (as Go's `runtime.NumCPU`): finding out
/// reads cgroup files, which allocates.
fn cores() -> u64 {
    static CORES: once_cell::sync::OnceCell<u64> = once_cell::sync::OnceCell::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64))
}

fn memstats_source() -> &'static str {
    let counting = crate::stats::alloc::is_installed();
    match (counting, heap::source()) {
        (false, source) => source.name(),
        (true, heap::SizeSource::Glibc) => "CountingAlloc+glibc",
        (true, heap::SizeSource::Jemalloc) => "CountingAlloc+jemalloc",
        (true, heap::SizeSource::Resident) => "CountingAlloc+resident",
    }
}

/// CPU time of every thread of the process, from the clock with nanosecond resolution.
#[cfg(unix)]
fn process_cpu_seconds() -> Option<f64> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec`.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    (status == 0).then_some(time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9)
}

#[cfg(not(unix))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

thread_local! {
    // Neither needs a destructor, so reading them never registers one.
    static DOCUMENT_DEPTH: Cell<u32> = const { Cell::new(0) };
    static DOCUMENT_STATS: RefCell<Option<ProcessStats>> = const { RefCell::new(None) };
}

/// While held, every [`document_stats`] on this thread returns the same reading, so the
/// memory figures of `memstats` and `process` in one document agree. Each document
/// render (`/debug/vars`, `/metrics`, a dashboard sample) holds one.
#[must_use]
pub(crate) struct DocumentScope(());

pub(crate) fn document_scope() -> DocumentScope {
    DOCUMENT_DEPTH.with(|depth| depth.set(depth.get() + 1));
    DocumentScope(())
}

impl Drop for DocumentScope {
    fn drop(&mut self) {
        let depth = DOCUMENT_DEPTH.with(|depth| {
            depth.set(depth.get() - 1);
            depth.get()
        });
        if depth == 0 {
            DOCUMENT_STATS.with(|stats| stats.borrow_mut().take());
        }
    }
}

/// The process figures of the document being rendered on this thread (one reading per
/// document), or a fresh reading outside a document.
pub(crate) fn document_stats() -> ProcessStats {
    if DOCUMENT_DEPTH.with(Cell::get) == 0 {
        return ProcessStats::read();
    }
    DOCUMENT_STATS.with(|cached| {
        if let Some(stats) = &*cached.borrow() {
            return stats.clone();
        }
        let stats = ProcessStats::read();
        *cached.borrow_mut() = Some(stats.clone());
        stats
    })
}

#[cfg(target_os = "linux")]
mod os {
    use std::ffi::CStr;

    use super::ProcessStats;

    /// Fills the OS figures; returns the start time in seconds since the epoch.
    ///
    /// Straight `libc` calls into stack buffers: reading allocates nothing, so sampling
    /// the process (once a second for the dashboard) does not move the heap it reports.
    pub(super) fn read(stats: &mut ProcessStats) -> Option<f64> {
        let mut buffer = [0u8; 1024];
        let mut start_time = None;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let stat = read_file(c"/proc/self/stat", &mut buffer)
            .and_then(|stat| stat.rsplit(|&byte| byte == b')').next());
        if let Some(fields) = stat {
            let mut fields = fields
                .split(|&byte| byte == b' ')
                .filter(|field| !field.is_empty());
            // `fields` starts at field 3 (state) of proc_pid_stat(5).
            let mut field = |number: usize| -> Option<u64> { parse(fields.nth(number)?) };
            let (utime, stime) = (field(14 - 3)?, field(0)?);
            let threads = field(20 - 16)?;
            let start_ticks = field(22 - 21)?;
            let (vsize, rss) = (field(0)?, field(0)?);
            let ticks = sysconf(libc::_SC_CLK_TCK).max(1) as f64;
            stats.threads = Some(threads);
            stats.virtual_memory_bytes = vsize;
            stats.resident_memory_bytes = rss * sysconf(libc::_SC_PAGESIZE);
            stats.cpu_seconds = (utime + stime) as f64 / ticks;
            // The start is in ticks since boot; `/proc/uptime` is on the same clock. (The
            // boot time in `/proc/stat` is a wall-clock figure that drifts on some VMs.)
            let uptime = read_file(c"/proc/uptime", &mut buffer)
                .and_then(|uptime| uptime.split(|&byte| byte == b' ').next())
                .and_then(|seconds| std::str::from_utf8(seconds).ok()?.parse::<f64>().ok());
            if let Some(uptime) = uptime {
                let running = (uptime - start_ticks as f64 / ticks).max(0.0);
                start_time = super::now_seconds().map(|now| now - running);
            }
        }
        stats.open_fds = open_fds();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid, writable `rlimit`.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            stats.max_fds = (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur);
        }
        start_time
    }

    fn sysconf(name: libc::c_int) -> u64 {
        // SAFETY: `sysconf` only reads a configuration value.
        u64::try_from(unsafe { libc::sysconf(name) }).unwrap_or(0)
    }

    fn parse(digits: &[u8]) -> Option<u64> {
        std::str::from_utf8(digits).ok()?.trim().parse().ok()
    }

    /// The start of `path`'s contents, up to the buffer's length.
    fn read_file<'b>(path: &CStr, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        let mut filled = 0;
        while filled < buffer.len() {
            let rest = &mut buffer[filled..];
            // SAFETY: reads at most `rest.len()` bytes into `rest`.
            let read = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
            match read {
                0 => break,
                read if read > 0 => filled += read as usize,
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
        // SAFETY: `fd` was opened above and is closed once.
        unsafe { libc::close(fd) };
        Some(&buffer[..filled])
    }

    /// Entries of `/proc/self/fd` (including the one open to list it, as Prometheus'
    /// Go client counts). The directory stream's buffer is libc's own, not Rust's heap.
    fn open_fds() -> Option<u64> {
        // SAFETY: a NUL-terminated path; the stream is closed below.
        let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
        if dir.is_null() {
            return None;
        }
        let mut count = 0;
        loop {
            // SAFETY: `dir` is an open directory stream.
            let entry = unsafe { libc::readdir(dir) };
            if entry.is_null() {
                break;
            }
            // SAFETY: `d_name` of an entry `readdir` returned is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                count += 1;
            }
        }
        // SAFETY: `dir` was opened above and is closed once.
        unsafe { libc::closedir(dir) };
        Some(count)
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use std::sync::{Mutex, PoisonError};

    use once_cell::sync::Lazy;
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

    use super::ProcessStats;

    /// One `System` kept between reads, refreshing only this process. Only readers
    /// take the lock; the program never waits on it.
    static SYSTEM: Lazy<Mutex<System>> = Lazy::new(|| Mutex::new(System::new()));

    fn with_process(refresh: ProcessRefreshKind, read: impl FnOnce(&sysinfo::Process)) {
        let pid = Pid::from_u32(std::process::id());
        let mut system = SYSTEM.lock().unwrap_or_else(PoisonError::into_inner);
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, refresh);
        if let Some(process) = system.process(pid) {
            read(process);
        }
    }

    /// Fills the OS figures; returns the start time in seconds since the epoch.
    pub(super) fn read(stats: &mut ProcessStats) -> Option<f64> {
        let refresh = ProcessRefreshKind::nothing()
            .with_memory()
            .with_cpu()
            .with_tasks();
        let mut start_time = None;
        with_process(refresh, |process| {
            start_time = Some(process.start_time() as f64).filter(|&start| start > 0.0);
            // sysinfo lists the threads other than the main one (whose id is the pid).
            stats.threads = process.tasks().map(|tasks| {
                let main_listed = tasks.contains(&process.pid());
                tasks.len() as u64 + u64::from(!main_listed)
            });
            stats.resident_memory_bytes = process.memory();
            stats.virtual_memory_bytes = process.virtual_memory();
            stats.cpu_seconds = process.accumulated_cpu_time() as f64 / 1000.0;
            stats.open_fds = process.open_files().map(|n| n as u64);
            stats.max_fds = process.open_files_limit().map(|n| n as u64);
        });
        start_time
    }
}

/// The `process` variable.
pub(crate) struct Process;

impl Var for Process {
    fn write(&self, out: Writer<'_>) {
        let stats = document_stats();
        // The standard `process_*` names every exporter uses, whatever the namespace.
        out.metric_name("process").object(|fields| {
            fields.field("pid").gauge(i64::from(stats.pid));
            fields
                .field_with_help(
                    "start_time_seconds",
                    "Start time of the process since the Unix epoch in seconds.",
                )
                .gauge(i64::try_from(stats.start_time_seconds).unwrap_or(i64::MAX));
            fields
                .field_with_help("uptime_seconds", "Seconds since the process started.")
                .float(stats.uptime_seconds);
            fields.field("expvar_version").str(stats.expvar_version);
            fields.field("rustc_version").str(stats.rustc_version);
            fields.field("os").str(stats.os);
            fields.field("arch").str(stats.arch);
            fields
                .field_with_help("cores", "CPUs the process may run on.")
                .gauge(stats.cores as i64);
            optional_gauge(
                fields.field_with_help("threads", "Number of OS threads in the process."),
                stats.threads,
            );
            fields
                .field_with_help("resident_memory_bytes", "Resident memory size in bytes.")
                .gauge(stats.resident_memory_bytes as i64);
            fields
                .field_with_help("virtual_memory_bytes", "Virtual memory size in bytes.")
                .gauge(stats.virtual_memory_bytes as i64);
            fields
                .field_with_help(
                    "cpu_seconds",
                    "Total user and system CPU time spent in seconds.",
                )
                .counter_f64(stats.cpu_seconds);
            fields.field("memstats_source").str(stats.memstats_source);
            optional_gauge(
                fields.field_with_help("open_fds", "Number of open file descriptors."),
                stats.open_fds,
            );
            optional_gauge(
                fields.field_with_help("max_fds", "Maximum number of open file descriptors."),
                stats.max_fds,
            );
        });
    }

    // Reads the process's own figures: no lock held long, no user code. Written in
    // place (on the rendering worker), not captured on a thread of its own.
    fn __may_block(&self) -> bool {
        false
    }
}

inventory::submit! {
    Entry::new("process", || &Process, file!(), line!())
}

fn optional_gauge(out: Writer<'_>, value: Option<u64>) {
    match value {
        Some(value) => out.gauge(i64::try_from(value).unwrap_or(i64::MAX)),
        None => out.null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let _alone = crate::slots::MANY_THREADS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = ProcessStats::read();
        assert_eq!(stats.pid, std::process::id());
        assert!(stats.cores >= 1);
        assert!(stats.rustc_version.starts_with("rustc "));
        if cfg!(target_os = "linux") {
            assert!(stats.resident_memory_bytes > 0);
            assert!(stats.virtual_memory_bytes >= stats.resident_memory_bytes);
            let threads = std::fs::read_dir("/proc/self/task").map(|tasks| tasks.count() as u64);
            if let Ok(threads) = threads {
                // Other tests' threads may come and go meanwhile; the main one is counted.
                assert!(stats.threads.unwrap() >= 1);
                assert!(
                    stats.threads.unwrap().abs_diff(threads) <= 8,
                    "{stats:?} vs {threads}"
                );
            }
            assert!(stats.open_fds.unwrap() >= 3);
            assert!(stats.max_fds.unwrap() >= stats.open_fds.unwrap());
            assert!(stats.start_time_seconds > 1_600_000_000);
        }
    }

    fn spin() {
        let mut spin = 0u64;
        for i in 0..2_000_000u64 {
            spin = std::hint::black_box(spin.wrapping_add(i));
        }
    }

    #[test]
    fn one_reading_per_document() {
        let scope = document_scope();
        let first = document_stats();
        spin();
        let nested = document_scope();
        assert_eq!(document_stats(), first);
        drop(nested);
        assert_eq!(
            document_stats(),
            first,
            "the outer document still reads the same"
        );
        drop(scope);
        spin();
        if cfg!(unix) {
            assert!(document_stats().cpu_seconds > first.cpu_seconds);
        }
    }

    #[cfg(unix)]
    #[test]
    fn cpu_time_has_sub_tick_resolution() {
        // Clock ticks are 10 ms: two readings 1 ms of work apart would usually be equal.
        let readings: Vec<f64> = (0..20)
            .map(|_| {
                spin();
                ProcessStats::read().cpu_seconds
            })
            .collect();
        let distinct = readings.windows(2).filter(|pair| pair[1] > pair[0]).count();
        assert!(distinct >= 15, "{readings:?}");
    }

    #[test]
    fn cpu_time_never_decreases() {
        let first = ProcessStats::read().cpu_seconds;
        let mut spin = 0u64;
        for i in 0..2_000_000u64 {
            spin = std::hint::black_box(spin.wrapping_add(i));
        }
        assert!(ProcessStats::read().cpu_seconds >= first);
    }
}
