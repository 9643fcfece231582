//! `expvar`: watch many services' `/debug/vars`, bridge them to Prometheus, or read one.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use expvar_cli::limits::{Limits, DEFAULT_MAX_VALUES};
use expvar_cli::target::{Auth, Target};
use expvar_cli::watch;

#[derive(Parser)]
#[command(name = "expvar", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch targets in the terminal: a column per target, a row per variable.
    Watch {
        /// Targets: `host:port`, `http://host:port` or `http://[user:pass@]host:port/path`.
        #[arg(required = true)]
        urls: Vec<String>,
        /// Variables to show: dotted paths and globs, comma-separated
        /// (`requests,memstats.HeapAlloc,functions.*.calls`). Default: memstats,
        /// process and every published number.
        #[arg(long, value_delimiter = ',')]
        vars: Vec<String>,
        /// Show every variable as a rate per second (counters always are).
        #[arg(long)]
        rate: bool,
        /// Time between fetches, in seconds.
        #[arg(long, default_value = "1", value_parser = seconds)]
        interval: Duration,
        #[command(flatten)]
        access: Access,
    },
    /// Serve every target's variables at /metrics, labelled with `target`, or push them
    /// to a Prometheus remote-write store or an OTLP receiver, or both.
    Export {
        /// Address to serve /metrics at. Default: 127.0.0.1:9500, unless the bridge
        /// pushes (--remote-write, --otlp), when it serves only if this is given.
        #[arg(long)]
        listen: Option<String>,
        /// Push every target's variables to this Prometheus remote-write URL
        /// (`http://prometheus:9090/api/v1/write`; `https://`, `user:password@` work).
        #[arg(long, value_name = "URL")]
        remote_write: Option<String>,
        /// Push every target's variables as OTLP/HTTP metrics to this URL
        /// (`http://collector:4318/v1/metrics`).
        #[arg(long, value_name = "URL")]
        otlp: Option<String>,
        /// Time between pushes, in seconds.
        #[arg(long, default_value = "15", value_parser = seconds)]
        interval: Duration,
        /// A label on every pushed series (`--label job=fleet`); repeatable.
        #[arg(long = "label", value_name = "NAME=VALUE", value_parser = label)]
        labels: Vec<(String, String)>,
        /// Targets, as for `watch`.
        urls: Vec<String>,
        /// More targets, from a Prometheus file_sd JSON file re-read when it changes.
        #[arg(long)]
        targets_file: Option<std::path::PathBuf>,
        /// How long one round of reads of the targets answers later scrapes, in
        /// seconds; scrapes that arrive while a round runs always share it.
        #[arg(long, default_value = "1", value_parser = seconds_or_zero)]
        max_age: Duration,
        /// The most connections served at once; beyond it, connections that have not
        /// sent a request are shed, oldest first. Default: 1024, or half the
        /// descriptors the process may open if that is less.
        #[arg(long)]
        max_connections: Option<usize>,
        #[command(flatten)]
        access: Access,
    },
    /// Print Prometheus recording and alerting rules for objectives: those the targets
    /// declare (read from their /debug/vars), or those given with --objective.
    Rules {
        /// Targets, as for `watch`; an objective several declare alike is written once.
        urls: Vec<String>,
        /// An objective, as on the attribute: `checkout=99.9%`, `search=99% < 250ms`.
        /// Give one name twice for both a success rate and a latency.
        #[arg(long = "objective", value_name = "NAME=OBJECTIVE")]
        objectives: Vec<String>,
        /// The window of the objectives given with --objective: days or weeks.
        #[arg(long, default_value = "30d")]
        window: String,
        /// Divide every window and `for` duration by this (for tests and demos; default
        /// EXPVAR_OBJECTIVE_TIME_SCALE, else 1).
        #[arg(long)]
        time_scale: Option<f64>,
        #[command(flatten)]
        access: Access,
    },
    /// Print a target's document, or the value at a dotted path, as JSON.
    Get {
        /// The target, as for `watch`.
        url: String,
        /// A dotted path such as `memstats.HeapAlloc`; strings print bare.
        path: Option<String>,
        #[command(flatten)]
        access: Access,
    },
}

#[derive(Args)]
struct Access {
    /// Basic auth for targets without credentials in their URL: USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD", conflicts_with = "bearer_token")]
    basic_auth: Option<String>,
    /// A bearer token for targets without credentials in their URL.
    #[arg(long, value_name = "TOKEN")]
    bearer_token: Option<String>,
    /// How long one target may take to answer, in seconds.
    #[arg(long, default_value = "5", value_parser = seconds)]
    timeout: Duration,
    /// The most bytes of a target's document read (`16MiB`, `512KiB` or bytes); a
    /// longer one is refused, and the target shown too large.
    #[arg(long, default_value = "16MiB", value_parser = bytes)]
    max_bytes: usize,
    /// The most values (numbers, strings, booleans) a target's document may hold; one
    /// with more is refused, and the target shown too large.
    #[arg(long, default_value_t = DEFAULT_MAX_VALUES)]
    max_values: usize,
    /// Trust the CA certificates of this PEM file, besides the system's, for
    /// `https://` targets (and for the push URLs of `export`).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
}

impl Access {
    fn auth(&self) -> Result<Option<Auth>, String> {
        match (&self.basic_auth, &self.bearer_token) {
            (Some(basic), _) => Auth::basic(basic).map(Some),
            (None, Some(token)) => Ok(Some(Auth::Bearer(token.clone()))),
            (None, None) => Ok(None),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_values: self.max_values,
        }
    }

    fn targets(&self, urls: &[String]) -> Result<Vec<Target>, String> {
        let auth = self.auth()?;
        urls.iter()
            .map(|url| Target::parse(url, auth.as_ref()))
            .collect()
    }
}

fn label(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("{text:?} has no label name"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not seconds"))?;
    if seconds > 0.0 && seconds.is_finite() {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err("must be more than 0".into())
    }
}

/// Seconds, 0 allowed.
fn seconds_or_zero(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => seconds(text),
    }
}

/// A size: bytes, or a number with `KiB`, `MiB` or `GiB`.
fn bytes(text: &str) -> Result<usize, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" | "K" | "k" => 10,
        "MiB" | "M" => 20,
        "GiB" | "G" => 30,
        _ => {
            return Err(format!(
                "{text:?}: want bytes, or a number with KiB, MiB or GiB"
            ))
        }
    };
    number
        .parse::<usize>()
        .ok()
        .filter(|&number| number > 0)
        .and_then(|number| number.checked_mul(1 << shift))
        .ok_or_else(|| format!("{text:?}: want a size above 0, such as 16MiB"))
}

/// Log records (the server's: late rounds, refused options) on stderr.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}", record.args());
        }
    }

    fn flush(&self) {}
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("expvar: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    let (Command::Watch { access, .. }
    | Command::Export { access, .. }
    | Command::Rules { access, .. }
    | Command::Get { access, .. }) = &command;
    if let Some(ca_file) = &access.ca_file {
        expvar_cli::fetch::use_ca_file(ca_file)?;
    }
    match command {
        Command::Watch {
            urls,
            vars,
            rate,
            interval,
            access,
        } => {
            let config = watch::Config {
                targets: access.targets(&urls)?,
                interval,
                timeout: access.timeout,
                limits: access.limits(),
                options: watch::model::Options {
                    patterns: vars,
                    rate_all: rate,
                },
            };
            watch::run(config).map_err(|error| error.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            listen,
            remote_write,
            otlp,
            interval,
            labels,
            urls,
            targets_file,
            max_age,
            max_connections,
            access,
        } => {
            static LOG: StderrLog = StderrLog;
            if log::set_logger(&LOG).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
            let config = expvar_cli::export::Config {
                listen,
                targets: access.targets(&urls)?,
                targets_file,
                default_auth: access.auth()?,
                timeout: access.timeout,
                limits: access.limits(),
                max_age,
                max_connections,
                push: expvar_cli::export::Push {
                    remote_write,
                    otlp,
                    interval,
                    labels,
                    ca_file: access.ca_file.clone(),
                },
            };
            expvar_cli::export::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules {
            urls,
            objectives,
            window,
            time_scale,
            access,
        } => {
            let services = access.targets(&urls)?;
            let time_scale = time_scale.unwrap_or_else(expvar::objectives::time_scale);
            let rules = expvar_cli::rules::run(
                &services,
                &objectives,
                &window,
                time_scale,
                access.timeout,
            )?;
            print!("{rules}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Get { url, path, access } => {
            let target = access
                .targets(std::slice::from_ref(&url))?
                .pop()
                .expect("one url, one target");
            match expvar_cli::get::run(&target, path.as_deref(), access.timeout, access.limits()) {
                Ok(text) => {
                    // A target's string printed bare must not drive the terminal
                    // (its lines stay lines).
                    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                        for line in text.split('\n') {
                            println!("{}", expvar_cli::terminal::clean(line));
                        }
                    } else {
                        println!("{text}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprintln!("expvar: {error}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_seconds() {
        assert_eq!(bytes("16MiB"), Ok(expvar_cli::limits::DEFAULT_MAX_BYTES));
        assert_eq!(bytes("512KiB"), Ok(512 << 10));
        assert_eq!(bytes("1000"), Ok(1000));
        assert!(bytes("0").is_err());
        assert!(bytes("12 parsecs").is_err());
        assert!(bytes("99999999999999999999GiB").is_err());
        assert_eq!(seconds_or_zero("0"), Ok(Duration::ZERO));
        assert!(seconds("0").is_err());
    }
}
