//! When things run: one loop per job over its crontab line and time zone.
//! The jobs themselves are the library's plain `*_once` functions; the
//! scheduler only decides when. A job's runs never overlap: the loop waits
//! for one run to finish before it looks for the next fire time.

pub mod lease;

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
    /// Called with the latest fire time that passed unrun (while the daemon
    /// was down, or during a long run); the job decides what to do.
    pub catch_up: Option<Arc<dyn Fn(DateTime<Utc>) -> JobFuture + Send + Sync>>,
}

impl Job {
    /// The next `count` fire times after `after`, in the job's zone.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        self.cron
            .upcoming(after, self.timezone, count)
            .into_iter()
            .map(|t| t.with_timezone(&self.timezone))
            .collect()
    }
}

/// Runs every job at its fire times until `shutdown` turns true. A run in
/// progress when it does is finished first.
///
/// A job's runs never overlap: fire times that pass while a run is still
/// going are not queued. At start, and after a run that outlasted later
/// fire times, the job's `catch_up` hook (if any) is given the latest fire
/// time that passed, and decides whether to run it; without a hook, passed
/// fire times are skipped.
pub async fn run(jobs: Vec<Job>, clock: Arc<dyn Clock>, shutdown: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let clock = clock.clone();
        let mut shutdown = shutdown.clone();
        tasks.spawn(async move {
            let mut last = clock.now();
            if let Some(catch_up) = &job.catch_up
                && let Some(missed) = job.cron.last_fire(last, job.timezone)
            {
                catch_up(missed).await;
                last = last.max(clock.now());
            }
            loop {
                let Some(next) = job.cron.next_fire(last, job.timezone) else {
                    tracing::warn!(job = %job.name, "no further fire times; job stops");
                    return;
                };
                let now = clock.now();
                if next <= now {
                    // Fire times passed while the last run was going on.
                    let latest = job.cron.last_fire(now, job.timezone).unwrap_or(next);
                    tracing::info!(job = %job.name, first = %next, latest = %latest, "fire times passed during the previous run");
                    if let Some(catch_up) = &job.catch_up {
                        catch_up(latest).await;
                    }
                    last = now.max(latest);
                    continue;
                }
                let wait = (next - now).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                if *shutdown.borrow() {
                    return;
                }
                (job.run)(next).await;
                last = next;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SystemClock;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A job that fires every second but takes 2.5 s: its runs never
    /// overlap, the fire times that pass meanwhile are handed to catch_up
    /// once (the latest), not queued.
    #[tokio::test]
    async fn runs_never_overlap_and_passed_fires_are_not_queued() {
        let log: Arc<Mutex<Vec<(&'static str, std::time::Instant)>>> = Arc::default();
        let running = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (run_log, run_flag) = (log.clone(), running.clone());
        let catch_log = log.clone();
        let job = Job {
            name: "slow".into(),
            cron: CronLine::parse("* * * * * *").unwrap(),
            timezone: chrono_tz::UTC,
            run: Arc::new(move |_| -> JobFuture {
                let (log, flag) = (run_log.clone(), run_flag.clone());
                Box::pin(async move {
                    assert!(
                        !flag.swap(true, std::sync::atomic::Ordering::SeqCst),
                        "two runs at once"
                    );
                    log.lock().unwrap().push(("run", std::time::Instant::now()));
                    tokio::time::sleep(Duration::from_millis(2500)).await;
                    flag.store(false, std::sync::atomic::Ordering::SeqCst);
                })
            }),
            catch_up: Some(Arc::new(move |_| -> JobFuture {
                let log = catch_log.clone();
                Box::pin(async move {
                    log.lock()
                        .unwrap()
                        .push(("catch_up", std::time::Instant::now()));
                })
            })),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = tokio::spawn(run(vec![job], Arc::new(SystemClock), stop_rx));
        tokio::time::sleep(Duration::from_millis(6200)).await;
        let _ = stop_tx.send(true);
        scheduler.await.unwrap();
        let log = log.lock().unwrap();
        let runs = log.iter().filter(|(k, _)| *k == "run").count();
        // At start one catch_up (the last second); then about 6 s / 2.5 s runs.
        assert!((2..=3).contains(&runs), "{runs} runs: {log:?}");
        let catch_ups = log.iter().filter(|(k, _)| *k == "catch_up").count();
        // Once at start, then once after each run that outlasted fire times.
        assert!(catch_ups >= runs, "{catch_ups} catch-ups for {runs} runs");
    }
}
