//! `expvar`: watch many services' `/debug/vars`, bridge them to Prometheus, or read one.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
    /// Serve every target's variables at /metrics, labelled with `target`.
    Export {
        /// Address to serve /metrics at.
        #[arg(long, default_value = "127.0.0.1:9500")]
        listen: String,
        /// Targets, as for `watch`.
        urls: Vec<String>,
        /// More targets, from a Prometheus file_sd JSON file re-read when it changes.
        #[arg(long)]
        targets_file: Option<std::path::PathBuf>,
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
}

impl Access {
    fn auth(&self) -> Result<Option<Auth>, String> {
        match (&self.basic_auth, &self.bearer_token) {
            (Some(basic), _) => Auth::basic(basic).map(Some),
            (None, Some(token)) => Ok(Some(Auth::Bearer(token.clone()))),
            (None, None) => Ok(None),
        }
    }

    fn targets(&self, urls: &[String]) -> Result<Vec<Target>, String> {
        let auth = self.auth()?;
        urls.iter()
            .map(|url| Target::parse(url, auth.as_ref()))
            .collect()
    }
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
            urls,
            targets_file,
            access,
        } => {
            let config = expvar_cli::export::Config {
                listen,
                targets: access.targets(&urls)?,
                targets_file,
                default_auth: access.auth()?,
                timeout: access.timeout,
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
            match expvar_cli::get::run(&target, path.as_deref(), access.timeout) {
                Ok(text) => {
                    println!("{text}");
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
