//! The ingest job: on `[schedule].ingest`, and whenever the content
//! folder's watcher wakes it, ingest the content folder (the lease holder
//! only), then bring this instance's feeds up to date. Whatever starts a
//! run, its build goes through `IngestJob::build`.

use crate::config::Config;
use crate::domain::Clock;
use crate::feeds::revision::{BuiltRevision, OnForeign};
use crate::feeds::websub::Publisher;
use crate::feeds::{Places, Scope};
use crate::http::state::Served;
use crate::ingest::{IndexCache, IngestReport, Rejection, Scan, ingest_with};
use crate::scheduler::{Job, Timing};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, watch};

/// Ingest then build. Rejections are logged when they change, not at every
/// scan.
///
/// Only the lease holder ingests files. Every instance keeps its own feeds
/// folder current: when the store's revision moved by more than this
/// instance's own ingest (a push to any instance, or another instance's
/// ingest), it rebuilds every feed.
pub struct IngestJob {
    timing: Timing,
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    leader: watch::Receiver<bool>,
    /// The store revision the feeds were last built from (pushes too).
    built: BuiltRevision,
    websub: Option<Publisher>,
    /// The feeds and pages served from memory, refreshed after each build.
    served: Served,
    /// What a run leaves for the next. A run holds it throughout, so a run
    /// driven from outside the scheduler never overlaps a scheduled one.
    memory: Mutex<Memory>,
    /// Runs finished since start-up, whatever started them.
    runs: AtomicU64,
}

/// What started a run, for its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trigger {
    /// `[schedule].ingest`, start-up, or a caller of `Background::ingest`.
    Schedule,
    /// The content folder's watcher saw a change.
    Watch,
    /// The watcher lost events: a rescan.
    Rescan,
    /// `[[source]]` entries to poll (no content folder scan).
    Sources(crate::sources::Poll),
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Watch => "watch",
            Self::Rescan => "rescan",
            Self::Sources(_) => "sources",
        }
    }
}

struct Memory {
    /// The rejections last logged.
    rejected: Vec<Rejection>,
    /// The hour of the last trending build; None before the first (full)
    /// build.
    trending_hour: Option<i64>,
    /// The article index and the folder's listing between scans.
    index: IndexCache,
    /// Every article's archive place, and every topic's articles, between
    /// builds.
    places: Places,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            rejected: Vec::new(),
            trending_hour: None,
            index: IndexCache::default(),
            places: Places::with_members(),
        }
    }
}

/// The ingest job's timing: `[schedule].ingest` in the site's zone.
pub fn timing(config: &Config) -> Timing {
    Timing {
        name: "ingest".into(),
        cron: config.schedule.ingest.clone(),
        timezone: config.site.timezone,
    }
}

impl IngestJob {
    pub fn new(state: &crate::http::AppState, leader: watch::Receiver<bool>) -> Self {
        Self {
            timing: timing(&state.config),
            config: state.config.clone(),
            store: state.store.clone(),
            clock: state.clock.clone(),
            leader,
            built: state.built.clone(),
            websub: state.websub.clone(),
            served: state.served.clone(),
            memory: Mutex::default(),
            runs: AtomicU64::new(0),
        }
    }

    /// Ingests the content folder (the part `scan` names); None when it
    /// failed (logged).
    async fn ingest(&self, memory: &mut Memory, scan: &Scan) -> Option<IngestReport> {
        let (store, clock) = (self.store.as_ref(), self.clock.as_ref());
        match ingest_with(store, &self.config, clock, &mut memory.index, scan).await {
            Ok(report) => {
                log_rejections(&report, &mut memory.rejected);
                Some(report)
            }
            Err(e) => {
                tracing::error!(error = %e, "ingest failed");
                None
            }
        }
    }

    /// Polls the sources `poll` picks; None when the store failed (logged).
    async fn poll_sources(
        &self,
        poll: crate::sources::Poll,
        memory: &mut Memory,
    ) -> Option<IngestReport> {
        let (store, clock) = (self.store.as_ref(), self.clock.as_ref());
        let polled =
            crate::sources::poll_with(store, &self.config, clock, poll, &mut memory.index).await;
        match polled {
            Ok(outcome) => {
                let mut report = IngestReport::default();
                report.add_sources(outcome);
                for s in report.sources.iter().filter(|s| s.changed()) {
                    tracing::info!(
                        source = %s.name,
                        new = s.new.len(),
                        updated = s.updated.len(),
                        withdrawn = s.withdrawn.len(),
                        "source polled"
                    );
                }
                Some(report)
            }
            Err(e) => {
                tracing::error!(error = %e, "polling the sources failed");
                None
            }
        }
    }

    /// What to rebuild, given what this run ingested (`report`, as the lease
    /// holder) and how the store's revision moved meanwhile.
    fn scope(
        &self,
        leading: bool,
        report: Option<&IngestReport>,
        revisions: (Option<i64>, Option<i64>),
        now: DateTime<Utc>,
        memory: &mut Memory,
    ) -> Scope {
        let wrote = report.is_some_and(|r| r.wrote);
        let elsewhere = changed_elsewhere(&self.built, revisions, wrote);
        let nothing = IngestReport::default();
        let changes = if elsewhere {
            // Some other writer: this instance cannot tell what changed.
            None
        } else if leading {
            // None when the ingest failed: everything, to be safe.
            report
        } else {
            Some(&nothing)
        };
        scope_after(changes, now, &mut memory.trending_hour)
    }

    /// Builds the feeds in `scope` and tells the WebSub hub; the number of
    /// files written.
    async fn build(
        &self,
        now: DateTime<Utc>,
        scope: &Scope,
        places: &mut Places,
        known: crate::feeds::Known,
    ) -> usize {
        let built = crate::feeds::build_feeds_with(
            self.store.as_ref(),
            &self.config,
            now,
            scope,
            places,
            known,
        );
        match built.await {
            Ok(b) => {
                // Served before the hub hears of it: what it fetches is new.
                self.served.after_build(&b.written, &b.removed).await;
                if !b.written.is_empty() {
                    tracing::info!(written = ?b.written, "feeds written");
                    if let Some(w) = &self.websub {
                        w.announce(&b.written);
                    }
                }
                b.written.len()
            }
            Err(e) => {
                tracing::error!(error = %e, "feed build failed");
                0
            }
        }
    }
}

#[async_trait::async_trait]
impl Job for IngestJob {
    fn timing(&self) -> &Timing {
        &self.timing
    }

    async fn run(&self, _fire: DateTime<Utc>) {
        self.run_for(Trigger::Schedule).await;
    }
}

impl IngestJob {
    /// One run over the whole content folder: see `run_scan`.
    pub(super) async fn run_for(&self, trigger: Trigger) {
        self.run_scan(trigger, &Scan::Full).await;
    }

    /// One run: ingest (as the lease holder) the files `scan` names, then
    /// build what changed. Runs never overlap, whatever starts them.
    pub(super) async fn run_scan(&self, trigger: Trigger, scan: &Scan) {
        let mut memory = self.memory.lock().await;
        let leading = *self.leader.borrow();
        let started = Instant::now();
        let before = self.store.revision().await.ok();
        let report = match (leading, trigger) {
            (false, _) => None,
            (true, Trigger::Sources(poll)) => self.poll_sources(poll, &mut memory).await,
            (true, _) => self.ingest(&mut memory, scan).await,
        };
        let after = self.store.revision().await.ok();
        let now = self.clock.now();
        let scope = self.scope(leading, report.as_ref(), (before, after), now, &mut memory);
        let changed = report.as_ref().and_then(|r| r.changed_slugs.as_deref());
        memory.places.advance((before, after), changed);
        let ingested = started.elapsed();
        let known = memory.index.handover();
        let written = self.build(now, &scope, &mut memory.places, known).await;
        self.runs.fetch_add(1, Ordering::Relaxed);
        summarise(
            trigger,
            leading,
            report.as_ref(),
            written,
            (ingested, started.elapsed()),
        );
    }

    /// Whether this instance holds the scheduler lease, as it changes.
    pub(super) fn leader(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Runs finished since start-up.
    pub(super) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

/// Whether the store changed, between the last build and `after`, other
/// than by this run's own write (`wrote`). When it did, this run builds
/// every feed, so the revision counts as built either way.
fn changed_elsewhere(
    built: &BuiltRevision,
    (before, after): (Option<i64>, Option<i64>),
    wrote: bool,
) -> bool {
    built.advance(before, after, wrote, OnForeign::BuildAll)
}

/// What to rebuild after an ingest: everything the first time; then the
/// feeds its changes touched, and the trending feed and OPML index once an
/// hour (the trending window slides with time).
fn scope_after(
    report: Option<&IngestReport>,
    now: DateTime<Utc>,
    last_trending: &mut Option<i64>,
) -> Scope {
    let hour = now.timestamp().div_euclid(3600);
    let scope = match (report, *last_trending) {
        (Some(r), Some(prev)) => Scope::Changed {
            main: r.changed(),
            topics: r.topics_changed.clone(),
            // Trending moves with the hour, not with each article: computing
            // it reads every topic occurrence.
            trending: prev != hour,
        },
        _ => Scope::All,
    };
    *last_trending = Some(hour);
    scope
}

fn log_rejections(report: &IngestReport, last: &mut Vec<Rejection>) {
    if report.changed() {
        tracing::info!(
            new = report.new.len(),
            updated = report.updated.len(),
            withdrawn = report.withdrawn.len(),
            rejected = report.rejected.len(),
            "ingest"
        );
    }
    if *last != report.rejected {
        for r in &report.rejected {
            tracing::warn!(file = %r.file, error = %r.error, "article rejected; its last good version stays published");
        }
        for w in &report.warnings {
            tracing::warn!(file = %w.file, warning = %w.error, "article");
        }
        *last = report.rejected.clone();
    }
}

/// The run's metrics and its one summary line.
fn summarise(
    trigger: Trigger,
    leading: bool,
    report: Option<&IngestReport>,
    written: usize,
    (ingested, took): (Duration, Duration),
) {
    let seconds = took.as_secs_f64();
    metrics::histogram!("feedletter_job_duration_seconds", "job" => "ingest").record(seconds);
    metrics::counter!("feedletter_feed_writes_total").increment(written as u64);
    if let Some(r) = report {
        metrics::counter!("feedletter_ingest_rejections_total").increment(r.rejected.len() as u64);
        metrics::gauge!("feedletter_ingest_rejected_files").set(r.rejected.len() as f64);
        for (change, n) in [
            ("new", r.new.len()),
            ("updated", r.updated.len()),
            ("withdrawn", r.withdrawn.len()),
        ] {
            metrics::counter!("feedletter_ingest_changes_total", "change" => change)
                .increment(n as u64);
        }
    }
    let count = |f: fn(&IngestReport) -> usize| report.map_or(0, f);
    tracing::info!(
        job = "ingest",
        trigger = trigger.name(),
        leader = leading,
        ok = !leading || report.is_some(),
        new = count(|r| r.new.len()),
        updated = count(|r| r.updated.len()),
        withdrawn = count(|r| r.withdrawn.len()),
        rejected = count(|r| r.rejected.len()),
        feeds_written = written,
        ms = (seconds * 1000.0) as u64,
        ingest_ms = ingested.as_millis() as u64,
        "job finished"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_first_build_is_full_then_scoped_with_trending_once_an_hour() {
        let mut hour = None;
        let report = IngestReport::default();
        let t = at("2026-11-25T06:10:00Z");
        assert_eq!(scope_after(Some(&report), t, &mut hour), Scope::All);
        let unchanged = |trending| Scope::Changed {
            main: false,
            topics: Vec::new(),
            trending,
        };
        let same_hour = scope_after(Some(&report), at("2026-11-25T06:50:00Z"), &mut hour);
        assert_eq!(same_hour, unchanged(false));
        let next_hour = scope_after(Some(&report), at("2026-11-25T07:00:00Z"), &mut hour);
        assert_eq!(next_hour, unchanged(true));
        // An unknown change: everything.
        assert_eq!(scope_after(None, t, &mut hour), Scope::All);
    }
}
