//! The digest jobs: one per `[[digest]]` schedule, firing its runs, and the
//! delivery they share with the retry sweep.

use crate::config::DigestConfig;
use crate::delivery::{Deliverer, Options, Report};
use crate::digest::DigestError;
use crate::scheduler::{Job, Timing};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

/// Retries due within this long are waited for by a schedule's run; later
/// ones are left to the sweep.
const RUN_WAITS_FOR_RETRIES: std::time::Duration = std::time::Duration::from_secs(60);

/// Digest delivery in this process, one pass at a time: a schedule's run
/// and the retry sweep never work on the same rows together.
#[derive(Clone)]
pub struct Delivery {
    pub deliverer: Deliverer,
    one_at_a_time: Arc<Mutex<()>>,
    /// The daemon's shutdown: passes stop claiming when it is cancelled.
    stop: CancellationToken,
}

impl Delivery {
    pub fn new(deliverer: Deliverer, stop: CancellationToken) -> Self {
        Self {
            deliverer,
            one_at_a_time: Arc::default(),
            stop,
        }
    }

    /// Creates (or finds) the run of `schedule` at `fire` and delivers it,
    /// after any pass in progress.
    async fn fire(
        &self,
        schedule: &DigestConfig,
        at: DateTime<Utc>,
    ) -> Result<Report, DigestError> {
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let options = Options {
            wait_for_retries: RUN_WAITS_FOR_RETRIES,
            progress: None,
        };
        self.deliverer
            .fire(schedule, at, &options, &self.stop)
            .await
    }

    /// Every `[delivery].sweep`, when woken (a run created from the admin
    /// API), and at start: retries that came due, runs another instance
    /// fired, and runs a stopped process left unfinished. A sweep due while
    /// a schedule's run is delivered is skipped: the next one comes soon.
    pub async fn sweep_until_stopped(self, wake: Arc<tokio::sync::Notify>) {
        let every = self.deliverer.config.delivery.sweep;
        loop {
            if let Ok(_one_at_a_time) = self.one_at_a_time.try_lock()
                && let Err(e) = self.deliverer.sweep(&self.stop).await
            {
                tracing::error!(error = %e, "digest sweep");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = wake.notified() => {}
                () = self.stop.cancelled() => return,
            }
        }
    }
}

/// The timing of a `[[digest]]` schedule's job.
pub fn timing(schedule: &DigestConfig) -> Timing {
    Timing {
        name: format!("digest:{}", schedule.name),
        cron: schedule.cron.clone(),
        timezone: schedule.timezone,
    }
}

/// A `[[digest]]` schedule: at each fire time, create its run (or find it)
/// and deliver it. A fire time missed while the daemon was down is run at
/// start when younger than `[schedule].catch_up`, or when its run exists
/// already (it is then resumed); otherwise it is skipped and logged.
///
/// Only the lease holder fires; the other instances help deliver the run
/// through their sweep.
pub struct DigestJob {
    timing: Timing,
    schedule: DigestConfig,
    delivery: Delivery,
    leader: watch::Receiver<bool>,
}

impl DigestJob {
    pub fn new(schedule: DigestConfig, delivery: Delivery, leader: watch::Receiver<bool>) -> Self {
        Self {
            timing: timing(&schedule),
            schedule,
            delivery,
            leader,
        }
    }

    fn leading(&self) -> bool {
        *self.leader.borrow()
    }

    /// Whether a missed fire at `at` is run now: not when its run exists
    /// (done, or resumed by the sweep), nor when it is older than
    /// `[schedule].catch_up`.
    async fn worth_catching_up(&self, at: DateTime<Utc>) -> bool {
        let deliverer = &self.delivery.deliverer;
        let name = &self.schedule.name;
        let exists = match deliverer.store.latest_run(Some(name)).await {
            Ok(run) => run.is_some_and(|r| r.fire >= at),
            Err(e) => {
                tracing::error!(schedule = %name, error = %e, "cannot read digest runs");
                return false;
            }
        };
        if exists {
            return false;
        }
        let window =
            chrono::Duration::from_std(deliverer.config.schedule.catch_up).unwrap_or_default();
        let age = deliverer.clock.now() - at;
        if age <= window {
            tracing::info!(schedule = %name, fire = %at, "catching up a missed digest");
            return true;
        }
        tracing::warn!(
            schedule = %name,
            fire = %at,
            age_minutes = age.num_minutes(),
            "missed digest fire is older than schedule.catch_up; skipped"
        );
        false
    }
}

#[async_trait::async_trait]
impl Job for DigestJob {
    fn timing(&self) -> &Timing {
        &self.timing
    }

    async fn run(&self, at: DateTime<Utc>) {
        if !self.leading() {
            tracing::debug!(schedule = %self.schedule.name, fire = %at, "not the lease holder; not fired here");
            return;
        }
        let started = std::time::Instant::now();
        let job = &self.timing.name;
        let result = self.delivery.fire(&self.schedule, at).await;
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!("feedletter_job_duration_seconds", "job" => job.clone())
            .record(seconds);
        match result {
            Ok(r) => tracing::info!(
                job = %job,
                run = r.run_id,
                fire = %at,
                sent = r.sent,
                skipped = r.skipped,
                failed = r.failed,
                retried = r.retried,
                pending = r.counts.pending,
                ms = (seconds * 1000.0) as u64,
                "job finished"
            ),
            Err(e) => {
                tracing::error!(job = %job, fire = %at, error = %e, "digest run failed");
            }
        }
    }

    async fn catch_up(&self, missed: DateTime<Utc>) {
        if self.leading() && self.worth_catching_up(missed).await {
            self.run(missed).await;
        }
    }
}
