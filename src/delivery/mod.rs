//! Delivering a digest run: claim outbox rows, compose and render each
//! subscriber's digest (rendering once per distinct composition), send
//! through the pooled transport, record the result.
//!
//! Crash safety. Every sending process registers in the store and renews
//! a heartbeat (`instance`); the rows it claims name it. A claimed row is
//! marked *started* (`started_ts`) in the same transaction that records the
//! previous result of the worker that takes it, just before its message is
//! composed and handed to the transport, and `sent` right after the
//! transport accepts it. Each of the `pool_size` workers holds one started
//! row at a time and waits until its result is written before it takes
//! another, so at any instant at most `pool_size` rows are started and not
//! recorded: the only messages whose fate a crash can leave in doubt.
//!
//! When a process dies (`recovery`), any other process, or the same one
//! restarted, puts its rows back to pending: the claimed but never started
//! ones as soon as its heartbeat is `delivery.dead_after` old (nothing of
//! them can have gone out, and the store refuses the dead process any
//! further start, so it cannot send them either); the at most `pool_size`
//! started ones `delivery.in_flight_grace` later, so that a process that
//! was only frozen and wakes up within it records them itself. On the same machine
//! a process that has certainly ended (no such pid and start time) needs
//! no wait at all. Those started rows are the only ones that can go out
//! twice. All writes of a pass go through its one claim loop, so SQLite
//! never sees two writers at once.
//!
//! The parts: `claims` (the loop that claims, starts, hands out and
//! records), `worker` (one row's message, sent), `pacer`
//! (`mail.rate_per_second`), `attempt` (what a row came to), `instance`
//! (this process's registration and heartbeat), `recovery` (a dead one's
//! rows).

pub mod attempt;
mod claims;
pub mod instance;
mod pacer;
pub mod recovery;
mod worker;

use crate::config::{Config, DigestConfig, MailTransportKind};
use crate::digest::{self, DigestError};
use crate::domain::Clock;
use crate::mail::Mailer;
use crate::store::{DigestRun, RunCounts, Store};
use chrono::{DateTime, Utc};
use claims::{Pass, Window};
use serde::Serialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use worker::{RunContext, Workers};

/// Links in a digest keep working this long.
pub const LINK_DAYS: i64 = 365;

/// Everything delivery needs from the daemon or the command line.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Arc<dyn Store>,
    pub mailer: Mailer,
    pub config: Arc<Config>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
    /// This process, as the rows it claims name it.
    pub instance: instance::Instance,
}

/// How long to wait for retries before returning, and where to report.
#[derive(Clone, Default)]
pub struct Options {
    /// Retries due within this long are waited for; later ones are left to
    /// the next pass (the daemon's sweep, or `digest send` again).
    pub wait_for_retries: std::time::Duration,
    pub progress: Option<indicatif::ProgressBar>,
}

/// What one pass over a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub run_id: i64,
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    pub retried: u64,
    /// Claimed but not sent because of a stop; pending again.
    pub released: u64,
    /// Rows of a dead process put back to pending by this pass.
    pub recovered: u64,
    /// Rows of the run other processes still hold at the end, by holder,
    /// and when they go back to pending if their holder has stopped.
    pub held: Vec<recovery::HeldRows>,
    /// The run's rows by state at the end.
    pub counts: RunCounts,
    pub next_retry: Option<DateTime<Utc>>,
}

impl Deliverer {
    /// Creates (or finds) the run of `schedule` for `fire` and delivers it.
    pub async fn fire(
        &self,
        schedule: &DigestConfig,
        fire: DateTime<Utc>,
        options: &Options,
        stop: &CancellationToken,
    ) -> Result<Report, DigestError> {
        let (run, created) = digest::open_run(
            self.store.as_ref(),
            &self.config,
            &self.tera,
            schedule,
            fire,
            self.clock.now(),
        )
        .await?;
        if created {
            tracing::info!(schedule = %schedule.name, run = run.id, fire = %fire, "digest run created");
        } else {
            tracing::info!(schedule = %schedule.name, run = run.id, fire = %fire, "digest run exists; resuming it");
        }
        self.deliver(&run, options, stop).await
    }

    /// One pass over a run: sends every due row, waits for retries due
    /// within `options.wait_for_retries`, and marks the run done when no row
    /// is left to try. Stops claiming once `stop` is cancelled; messages in
    /// flight finish first.
    pub async fn deliver(
        &self,
        run: &DigestRun,
        options: &Options,
        stop: &CancellationToken,
    ) -> Result<Report, DigestError> {
        let schedule = digest::schedule(&self.config, &run.schedule)?.clone();
        // Each message's envelope sender is its VERP address.
        crate::bounces::verp::prepare(self.store.as_ref(), &self.mailer, &self.config.bounces)
            .await?;
        let mut report = Report {
            run_id: run.id,
            ..Report::default()
        };
        report.recovered = self.recover().await?;
        let now = self.clock.now();
        let counts = self.store.run_counts(run.id).await?;
        if let Some(bar) = &options.progress {
            bar.set_length(counts.total());
            bar.set_position(counts.sent + counts.failed + counts.skipped);
        }
        let Some(earliest) = self.store.earliest_since(run.id).await? else {
            self.store.finish_run(run.id, now).await?;
            report.counts = counts;
            return Ok(report);
        };
        // Links of digests past their expiry no longer work: their tokens
        // go, once a pass (the claims add new ones).
        self.store.drop_expired_manage_tokens(now).await?;
        let material =
            digest::material(self.store.as_ref(), &self.config, run.fire, earliest).await?;
        let context = RunContext::new(self, run, schedule, material, stop.clone());
        let workers = self.worker_count();
        let mut pool = Workers::start(Arc::new(context), workers);
        let window = Window::new(self.config.mail.rate_per_second, workers);
        let passed = Pass::new(self, run, options, stop, (window, workers), &mut report)
            .run(&mut pool)
            .await;
        pool.finish(passed.is_err()).await;
        passed?;
        self.conclude(run, report).await
    }

    /// Renews this process's heartbeat and puts back the rows of dead
    /// ones (see `recovery`). Returns how many rows went back. A failure
    /// is logged, not fatal: this pass can still send its own rows, and
    /// the next look recovers what this one could not.
    async fn recover(&self) -> Result<u64, DigestError> {
        match recovery::recover(self).await {
            Ok(r) => Ok(r.rows()),
            Err(e) => {
                tracing::warn!(error = %e, "recovering the rows of stopped senders failed; tried again at the next look");
                Ok(0)
            }
        }
    }

    /// Senders at once: one per pooled SMTP connection.
    fn worker_count(&self) -> usize {
        match self.config.mail.transport {
            MailTransportKind::Smtp => self.config.mail.smtp.pool_size.max(1) as usize,
            MailTransportKind::File => 2,
        }
    }

    /// After a pass: the run's counts, the run finished when no row is left
    /// to try, and the pass's summary line.
    async fn conclude(&self, run: &DigestRun, mut report: Report) -> Result<Report, DigestError> {
        report.counts = self.store.run_counts(run.id).await?;
        if report.counts.finished() {
            self.store.finish_run(run.id, self.clock.now()).await?;
        } else if report.next_retry.is_none() {
            report.next_retry = self.store.next_due(run.id).await?;
        }
        tracing::info!(
            run = run.id,
            schedule = %run.schedule,
            sent = report.sent,
            skipped = report.skipped,
            failed = report.failed,
            retried = report.retried,
            pending = report.counts.pending,
            "digest delivery pass"
        );
        Ok(report)
    }

    /// Every unfinished run, once: due retries, and runs a stopped
    /// process left behind.
    pub async fn sweep(&self, stop: &CancellationToken) -> Result<(), DigestError> {
        for run in self.store.unfinished_runs().await? {
            if stop.is_cancelled() {
                break;
            }
            match self.deliver(&run, &Options::default(), stop).await {
                // One summary line for a pass that did something: a retry,
                // or a run fired by another instance or a stopped process.
                Ok(r) if r.sent + r.skipped + r.failed + r.retried > 0 => tracing::info!(
                    job = "sweep",
                    schedule = %run.schedule,
                    run = run.id,
                    fire = %run.fire,
                    sent = r.sent,
                    skipped = r.skipped,
                    failed = r.failed,
                    retried = r.retried,
                    pending = r.counts.pending,
                    "job finished"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(run = run.id, error = %e, "digest retry pass failed"),
            }
        }
        Ok(())
    }
}

/// The message of one row: deterministic, so a retry sends the same one.
pub fn message_id(run: &DigestRun, row_id: i64, domain: &str) -> String {
    format!(
        "digest.{}.{}.{}@{domain}",
        run.id,
        row_id,
        run.created_at.timestamp()
    )
}
