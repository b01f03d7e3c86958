//! `[schedule]`: the ingest cron line, catch-up, and the scheduler lease.

use super::problems::Problems;
use crate::domain::schedule::CronLine;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub ingest: CronLine,
    pub catch_up: Duration,
    /// How long the scheduler lease lasts unrenewed: when the instance
    /// that holds it dies, another takes over within this long.
    pub lease: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct RawSchedule {
    ingest: String,
    catch_up: String,
    lease: String,
}

impl Default for RawSchedule {
    fn default() -> Self {
        Self {
            ingest: "* * * * *".into(),
            catch_up: "12h".into(),
            lease: "30s".into(),
        }
    }
}

impl RawSchedule {
    pub(super) fn build(self, p: &mut Problems) -> Option<ScheduleConfig> {
        let ingest = p.cron("schedule.ingest", &self.ingest);
        let catch_up = p.duration("schedule.catch_up", &self.catch_up);
        let lease = p.duration("schedule.lease", &self.lease);
        // Renewed every third of it in whole seconds: below 3s that is 0.
        if lease.is_some_and(|l| l < Duration::from_secs(3)) {
            p.push(
                "schedule.lease",
                format!(
                    "'{}' is too short; it is renewed every third of it, in whole seconds (3s at least)",
                    self.lease
                ),
            );
        }
        Some(ScheduleConfig {
            ingest: ingest?,
            catch_up: catch_up?,
            lease: lease?,
        })
    }
}
