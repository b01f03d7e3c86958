//! The command line (names from INTERFACES.md). Each command loads what it
//! needs and calls into the library; no logic of its own.

use crate::config::Config;
use crate::domain::{Clock, SystemClock};
use crate::ingest::{self, IngestReport};
use crate::scheduler::Job;
use chrono::Utc;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "feedletter",
    version,
    about = "Feeds and trending-topic digests for a skincare publication"
)]
pub struct Cli {
    /// Config file.
    #[arg(
        long,
        global = true,
        env = "FEEDLETTER_CONFIG",
        default_value = "feedletter.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: crate::telemetry::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: scheduler and HTTP.
    Run,
    /// Check config, templates, cron lines and content; non-zero exit on problems.
    Check,
    /// Scan the content folder once.
    Ingest {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write every feed once.
    Build,
    /// Trending topics: a table, or the JSON of INTERFACES.md.
    Trending {
        /// The moment to look from (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Next fire times of every job, in its time zone.
    Schedule {
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Apply database migrations.
    Migrate,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Check = cli.command {
        return Ok(check(&cli.config).await);
    }
    let config = load(&cli.config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Run => {
            let stop = shutdown_signal();
            let app = crate::App::build(config, clock).await?;
            app.run_until_stopped(stop).await?;
        }
        Command::Ingest { json } => {
            let store = crate::store::connect(&config.store).await?;
            let report = ingest::ingest_once(store.as_ref(), &config, clock.as_ref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_ingest(&report);
            }
            if !report.rejected.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Build => {
            let store = crate::store::connect(&config.store).await?;
            let report =
                crate::feeds::build_feeds_once(store.as_ref(), &config, clock.now()).await?;
            for f in &report.written {
                println!("wrote     {}", config.feeds.dir.join(f).display());
            }
            println!(
                "{} written, {} unchanged",
                report.written.len(),
                report.unchanged
            );
        }
        Command::Trending { at, json, limit } => {
            let at = match at {
                Some(s) => chrono::DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| anyhow::anyhow!("--at: '{s}' is not an RFC 3339 time ({e})"))?
                    .to_utc(),
                None => clock.now(),
            };
            let store = crate::store::connect(&config.store).await?;
            let report =
                crate::topics::report::trending_at(store.as_ref(), &config, at, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "trending at {} (last {} days against the {} before)",
                    report.at, report.window_days, report.baseline_days
                );
                println!(
                    "{:<28} {:<8} {:>5} {:>8} {:>8} {:>6}",
                    "topic", "status", "count", "baseline", "score", "lift"
                );
                for t in &report.topics {
                    let status = serde_json::to_value(t.status)?;
                    println!(
                        "{:<28} {:<8} {:>5} {:>8} {:>8.2} {:>6.1}",
                        t.label,
                        status.as_str().unwrap_or(""),
                        t.count,
                        t.baseline_count,
                        t.score,
                        t.lift
                    );
                }
            }
        }
        Command::Schedule { count } => {
            for job in jobs_for_listing(&config) {
                println!("{} ({}, {})", job.name, job.cron.as_str(), job.timezone);
                for t in job.upcoming(Utc::now(), count) {
                    println!("  {}", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
                }
            }
        }
        Command::Migrate => {
            crate::store::connect(&config.store).await?;
            println!("migrations applied");
        }
        Command::Check => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!(e))
}

fn jobs_for_listing(config: &Config) -> Vec<Job> {
    let noop: Arc<dyn Fn(chrono::DateTime<Utc>) -> crate::scheduler::JobFuture + Send + Sync> =
        Arc::new(|_| Box::pin(async {}));
    let mut jobs = vec![Job {
        name: "ingest".into(),
        cron: config.schedule.ingest.clone(),
        timezone: config.site.timezone,
        run: noop.clone(),
    }];
    for d in &config.digests {
        jobs.push(Job {
            name: format!("digest:{}", d.name),
            cron: d.cron.clone(),
            timezone: d.timezone,
            run: noop.clone(),
        });
    }
    jobs
}

fn print_ingest(r: &IngestReport) {
    for s in &r.new {
        println!("new        {s}");
    }
    for s in &r.updated {
        println!("updated    {s}");
    }
    for s in &r.withdrawn {
        println!("withdrawn  {s}");
    }
    for s in &r.scheduled {
        println!("scheduled  {} at {} ({})", s.slug, s.published, s.file);
    }
    for w in &r.warnings {
        println!("warning    {}: {}", w.file, w.error);
    }
    for x in &r.rejected {
        println!("rejected   {}: {}", x.file, x.error);
    }
    println!(
        "{} new, {} updated, {} withdrawn, {} rejected, {} unchanged",
        r.new.len(),
        r.updated.len(),
        r.withdrawn.len(),
        r.rejected.len(),
        r.unchanged
    );
}

/// `feedletter check`: every problem, one a line, on stdout.
async fn check(path: &Path) -> ExitCode {
    let mut problems: Vec<String> = Vec::new();
    let config = match Config::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.extend(e.problems);
            None
        }
    };
    if let Some(config) = &config {
        if let Err(e) = crate::templates::load(&config.site.templates_dir) {
            problems.push(e.to_string());
        }
        match ingest::check_content(config).await {
            Ok(rejections) => problems.extend(
                rejections
                    .into_iter()
                    .map(|r| format!("{}: {}", r.file, r.error)),
            ),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("{p}");
        }
        eprintln!("{} problem(s) found", problems.len());
        ExitCode::from(1)
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// during start-up (the first ingest) is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
