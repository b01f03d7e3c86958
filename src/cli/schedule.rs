//! `feedletter schedule`: the next fire times of the daemon's jobs.

use crate::config::Config;
use chrono::Utc;
use std::process::ExitCode;

pub(super) fn list(config: &Config, count: usize) -> ExitCode {
    // The daemon's own job list, so that names and crontab lines match.
    for job in crate::app::timings(config) {
        println!("{} ({}, {})", job.name, job.cron.as_str(), job.timezone);
        for t in job.upcoming(Utc::now(), count) {
            println!("  {}", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
        }
    }
    ExitCode::SUCCESS
}
