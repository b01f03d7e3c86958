//! When things run: one loop per job over its crontab line and time zone.
//! The scheduler only decides when; what a job does is its own type, an
//! implementation of `Job` next to the work it runs. A job's runs never
//! overlap: the loop waits for one run to finish before it looks for the
//! next fire time.

pub mod lease;

use crate::domain::Clock;
use crate::domain::schedule::CronLine;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// When a job runs: its name (in logs and metrics), its crontab line and
/// the zone the line is read in.
#[derive(Debug, Clone)]
pub struct Timing {
    pub name: String,
    pub cron: CronLine,
    pub timezone: Tz,
}

impl Timing {
    /// The next `count` fire times after `after`, in the job's zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        self.cron
            .upcoming(after, self.timezone, count)
            .into_iter()
            .map(|t| t.with_timezone(&self.timezone))
            .collect()
    }
}

/// Something to run at the fire times of a crontab line.
#[async_trait::async_trait]
pub trait Job: Send + Sync + 'static {
    fn timing(&self) -> &Timing;

    /// One run, for the fire time it runs for.
    async fn run(&self, fire: DateTime<Utc>);

    /// Given the latest fire time that passed unrun (while the daemon was
    /// down, during a long run, or while another instance held the lease):
    /// the job decides whether to run it. By default it is skipped.
    async fn catch_up(&self, missed: DateTime<Utc>) {
        let _ = missed;
    }
}

/// Runs every job at its fire times until `stop` is cancelled. A run in
/// progress then is finished first.
///
/// A job's runs never overlap: fire times that pass while a run is still
/// going are not queued. At start, and after a run that outlasted later
/// fire times, the job's `catch_up` is given the latest fire time that
/// passed. The start-up catch-up happens even when the stop comes first: a
/// stop cuts the waits between fire times short, not the decisions due at
/// start, so a daemon that has stopped has always made them.
pub async fn run(jobs: Vec<Arc<dyn Job>>, clock: Arc<dyn Clock>, stop: CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        tasks.spawn(run_job(job, clock.clone(), stop.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

/// What a job's loop does next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Wait `wait` for the fire time `fire`, then run it.
    Wait {
        fire: DateTime<Utc>,
        wait: std::time::Duration,
    },
    /// Fire times from `first` to `latest` passed during the last run.
    Missed {
        first: DateTime<Utc>,
        latest: DateTime<Utc>,
    },
    /// The line fires no more.
    Finished,
}

/// The step after a run (or catch-up) that ended `last`, at `now`.
fn next_step(timing: &Timing, last: DateTime<Utc>, now: DateTime<Utc>) -> Step {
    let Some(fire) = timing.cron.next_fire(last, timing.timezone) else {
        return Step::Finished;
    };
    if fire <= now {
        let latest = timing.cron.last_fire(now, timing.timezone).unwrap_or(fire);
        return Step::Missed {
            first: fire,
            latest,
        };
    }
    Step::Wait {
        fire,
        wait: (fire - now).to_std().unwrap_or_default(),
    }
}

async fn run_job(job: Arc<dyn Job>, clock: Arc<dyn Clock>, stop: CancellationToken) {
    let timing = job.timing();
    let mut last = clock.now();
    if let Some(missed) = timing.cron.last_fire(last, timing.timezone) {
        job.catch_up(missed).await;
        last = last.max(clock.now());
    }
    loop {
        let now = clock.now();
        match next_step(timing, last, now) {
            Step::Finished => {
                tracing::warn!(job = %timing.name, "no further fire times; job stops");
                return;
            }
            Step::Missed { first, latest } => {
                tracing::info!(job = %timing.name, first = %first, latest = %latest, "fire times passed during the previous run");
                job.catch_up(latest).await;
                last = now.max(latest);
            }
            Step::Wait { fire, wait } => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.cancelled() => return,
                }
                if stop.is_cancelled() {
                    return;
                }
                job.run(fire).await;
                last = fire;
            }
        }
    }
}

/// When this instance takes the lease over from one that stopped, fire
/// times that passed while nobody held it are caught up as at start: each
/// job's `catch_up` decides (its run exists already, or it is young
/// enough). Holding the lease from the start is not a takeover: the
/// scheduler's own start-up catch-up covers it.
pub async fn catch_up_on_takeover(
    mut leader: watch::Receiver<bool>,
    jobs: Vec<Arc<dyn Job>>,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    let mut held = *leader.borrow_and_update();
    loop {
        tokio::select! {
            changed = leader.changed() => if changed.is_err() { return },
            () = stop.cancelled() => return,
        }
        let now_held = *leader.borrow_and_update();
        if now_held && !held {
            let now = clock.now();
            for job in &jobs {
                let timing = job.timing();
                if let Some(missed) = timing.cron.last_fire(now, timing.timezone) {
                    job.catch_up(missed).await;
                }
            }
        }
        held = now_held;
    }
}

#[cfg(test)]
mod tests;
