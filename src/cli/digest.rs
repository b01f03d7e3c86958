//! `digest`: preview one reader's digest, send a run, show a run's state.

use super::{DigestCommand, Progress, parse_at, progress_bar};
use crate::config::{Config, DigestConfig};
use crate::delivery::instance::Instance;
use crate::delivery::{Deliverer, Options, Report};
use crate::digest::preview::{self, Preview};
use crate::domain::Clock;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub(super) async fn digest(
    cmd: DigestCommand,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    // Sending reads little at a time: a small SQLite page cache keeps it
    // small in memory.
    let store = match cmd {
        DigestCommand::Send { .. } => crate::store::connect_for_sending(&config.store).await?,
        _ => crate::store::connect(&config.store).await?,
    };
    let tera = Arc::new(crate::templates::load(&config.site.templates_dir)?);
    match cmd {
        DigestCommand::Preview {
            schedule,
            email,
            at,
            out,
        } => {
            let schedule = crate::digest::schedule(&config, &schedule)?;
            let request = preview::Request {
                schedule,
                at: parse_at(at.as_deref(), clock.as_ref())?,
                email: email.as_deref(),
                out: out.as_deref(),
            };
            print_preview(preview::write(store.as_ref(), &config, &tera, request).await?);
        }
        DigestCommand::Send { schedule, at } => {
            let schedule = crate::digest::schedule(&config, &schedule)?.clone();
            let fire = crate::digest::fire_at(&schedule, parse_at(at.as_deref(), clock.as_ref())?)?;
            let report = deliver(store.clone(), config, tera, clock, &schedule, fire).await;
            // A run's outbox rows leave a large log on SQLite (`Store::close`).
            store.close().await;
            print_sent(&report?, &schedule, fire);
        }
        DigestCommand::Status { run } => status(store.as_ref(), run).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_preview(preview: Preview) {
    match preview {
        Preview::Empty { to, since, fire } => {
            println!("nothing new for {to} between {since} and {fire}: no digest would be sent");
        }
        Preview::Written { subject, eml, html } => {
            println!("subject: {subject}");
            println!("wrote {} and {}", eml.display(), html.display());
        }
    }
}

/// One delivery pass over the run, with a progress bar on a terminal;
/// SIGINT or SIGTERM stops it between messages, leaving the rest pending
/// for `digest send` again.
async fn deliver(
    store: Arc<dyn Store>,
    config: Config,
    tera: Arc<tera::Tera>,
    clock: Arc<dyn Clock>,
    schedule: &DigestConfig,
    fire: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let mailer = crate::mail::Mailer::from_config(&config.mail)?;
    let stop = CancellationToken::new();
    let signal = super::shutdown_signal();
    let stopping = stop.clone();
    tokio::spawn(async move {
        signal.await;
        stopping.cancel();
    });
    let progress = progress_bar(0, Progress::Mails);
    // Registered for the whole send: the rows it claims name it, and its
    // heartbeat tells other senders it is alive.
    let instance = Instance::register(store.clone(), clock.clone(), "digest send").await?;
    let beating = CancellationToken::new();
    let heartbeat = tokio::spawn(
        instance
            .clone()
            .beat_until(config.delivery.heartbeat, beating.clone()),
    );
    let deliverer = Deliverer {
        store,
        mailer,
        config: Arc::new(config),
        tera,
        clock,
        instance: instance.clone(),
    };
    let options = Options {
        wait_for_retries: std::time::Duration::from_secs(60),
        progress: progress.clone(),
    };
    let report = deliverer.fire(schedule, fire, &options, &stop).await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    beating.cancel();
    let _ = heartbeat.await;
    instance.deregister().await;
    Ok(report?)
}

fn print_sent(report: &Report, schedule: &DigestConfig, fire: DateTime<Utc>) {
    let c = &report.counts;
    println!(
        "run {} ({} at {}): {} sent now; {} sent, {} skipped, {} failed, {} pending of {}",
        report.run_id,
        schedule.name,
        fire.with_timezone(&schedule.timezone)
            .format("%a %Y-%m-%d %H:%M %Z"),
        report.sent,
        c.sent,
        c.skipped,
        c.failed,
        c.pending + c.sending,
        c.total()
    );
    if let Some(next) = report.next_retry {
        println!(
            "retries left: the next is due at {next}; the daemon, or `digest send` again, takes them"
        );
    }
    for h in &report.held {
        let holder = h.holder.as_deref().unwrap_or("an older feedletter");
        if h.alive {
            println!(
                "{} held by {holder}, which is alive and sending them; if it stops, they are pending again by {}",
                messages(h.rows),
                h.free_by
            );
        } else {
            println!(
                "{} held by {holder}, which stopped (last heartbeat {}): pending again by {}; the daemon, or `digest send` again, sends them",
                messages(h.rows),
                h.last_heartbeat
                    .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
                h.free_by
            );
        }
    }
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message is".to_owned()
    } else {
        format!("{n} messages are")
    }
}

/// The run asked for, or the latest; a message when none has run yet.
async fn status(store: &dyn Store, run: Option<i64>) -> anyhow::Result<()> {
    let run = match run {
        Some(id) => store
            .digest_run(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("--run: no run {id}"))?,
        None => match store.latest_run(None).await? {
            Some(r) => r,
            None => {
                println!("no digest has run yet");
                return Ok(());
            }
        },
    };
    let c = store.run_counts(run.id).await?;
    println!(
        "run {} of {}: fired {}, {}",
        run.id,
        run.schedule,
        run.fire.to_rfc3339(),
        if run.done { "done" } else { "delivering" }
    );
    println!("subject: {}", run.subject);
    println!(
        "pending {}  sending {}  sent {}  failed {}  skipped {}  (total {})",
        c.pending,
        c.sending,
        c.sent,
        c.failed,
        c.skipped,
        c.total()
    );
    if c.sending > 0 {
        // Who holds the rows being sent: a live process, or one that
        // stopped and whose rows the next sender puts back.
        for h in store.held(run.id, "").await? {
            let holder = h.holder.as_deref().unwrap_or("an older feedletter");
            let beat = h
                .heartbeat
                .map_or_else(|| "none".to_owned(), |t| t.to_rfc3339());
            println!(
                "  {} sending by {holder} ({}, last heartbeat {beat})",
                h.started + h.unstarted,
                if h.dead {
                    "declared dead"
                } else {
                    "registered"
                }
            );
        }
    }
    let errors = store.last_errors(run.id, 10).await?;
    if !errors.is_empty() {
        println!("last errors:");
        for e in errors {
            println!("  {} ({}): {}", e.email, e.state, e.error);
        }
    }
    Ok(())
}
