//! `feedletter schedule`: the next fire times of the daemon's jobs.

use crate::config::Config;
use crate::scheduler::Job;
use chrono::Utc;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) fn list(config: &Config, count: usize) -> ExitCode {
    for job in jobs_for_listing(config) {
        println!("{} ({}, {})", job.name, job.cron.as_str(), job.timezone);
        for t in job.upcoming(Utc::now(), count) {
            println!("  {}", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
        }
    }
    ExitCode::SUCCESS
}

/// The daemon's jobs with the same names and crontab lines, doing nothing:
/// only their fire times are listed.
fn jobs_for_listing(config: &Config) -> Vec<Job> {
    let noop: Arc<dyn Fn(chrono::DateTime<Utc>) -> crate::scheduler::JobFuture + Send + Sync> =
        Arc::new(|_| Box::pin(async {}));
    let mut jobs = vec![Job {
        name: "ingest".into(),
        cron: config.schedule.ingest.clone(),
        timezone: config.site.timezone,
        run: noop.clone(),
        catch_up: None,
    }];
    for d in &config.digests {
        jobs.push(Job {
            name: format!("digest:{}", d.name),
            cron: d.cron.clone(),
            timezone: d.timezone,
            run: noop.clone(),
            catch_up: None,
        });
    }
    jobs
}
