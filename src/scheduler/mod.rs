//! When things run: one loop per job over its crontab line and time zone.
//! The jobs themselves are the library's plain `*_once` functions; the
//! scheduler only decides when. A job's runs never overlap: the loop waits
//! for one run to finish before it looks for the next fire time.

use crate::domain::Clock;
use crate::domain::schedule::CronLine;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

pub type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something to run at the fire times of a crontab line.
pub struct Job {
    pub name: String,
    pub cron: CronLine,
    pub timezone: Tz,
    /// Called with the fire time it runs for.
    pub run: Arc<dyn Fn(DateTime<Utc>) -> JobFuture + Send + Sync>,
}

impl Job {
    /// The next `count` fire times after `after`, in the job's zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut t = after.with_timezone(&self.timezone);
        while out.len() < count {
            match self.cron.next_after(&t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// Runs every job at its fire times until `shutdown` turns true. A run in
/// progress when it does is finished first.
pub async fn run(jobs: Vec<Job>, clock: Arc<dyn Clock>, shutdown: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let clock = clock.clone();
        let mut shutdown = shutdown.clone();
        tasks.spawn(async move {
            loop {
                let now = clock.now();
                let Some(next) = job.cron.next_after(&now.with_timezone(&job.timezone)) else {
                    tracing::warn!(job = %job.name, "no further fire times; job stops");
                    return;
                };
                let next = next.with_timezone(&Utc);
                let wait = (next - now).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                if *shutdown.borrow() {
                    return;
                }
                (job.run)(next).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
