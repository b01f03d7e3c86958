//! `[[source]]` entries: articles read from where a publication already
//! keeps them (a WordPress site's REST API, an RSS, Atom or JSON feed),
//! into the store through the same changes as content files, so feeds,
//! topics, trending, digests and pages treat them alike.
//!
//! An article from a source is `source:<name>:<remote id>`; it keeps the
//! slug it was first given: the remote slug when free, else the slug
//! prefixed with the source's name. A file or pushed article never takes a
//! slug a source holds (it is rejected, naming the source), nor a source
//! one of theirs.
//!
//! A poll is one pass over each source, one request at a time; what the
//! pass read before a failure is kept, the articles the source gave before
//! stay published, and the state (cursor, validators, back-off) is stored,
//! so the next poll, on whichever instance holds the lease, resumes.

mod decide;
mod feed;
pub mod http;
pub mod item;
mod preview;
mod wordpress;

pub use preview::{Preview, PreviewItem, test};

use crate::config::{Config, SourceConfig, SourceKind};
use crate::domain::Clock;
use crate::ingest::{IndexCache, IngestError, apply_to_index, trending_may_move};
use crate::store::{ArticleChange, IndexEntry, SourceState, Store};
use chrono::{DateTime, Utc};
use http::Fetcher;
use item::{ItemError, RemoteItem};
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;

/// What one poll of one source did; `ingest --json` prints it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SourceReport {
    pub name: String,
    pub new: Vec<String>,
    pub updated: Vec<String>,
    pub withdrawn: Vec<String>,
    pub unchanged: usize,
    pub errors: Vec<SourceError>,
}

impl SourceReport {
    /// True when the published set changed.
    pub fn changed(&self) -> bool {
        !(self.new.is_empty() && self.updated.is_empty() && self.withdrawn.is_empty())
    }
}

/// A problem with a request or an item, by URL.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceError {
    pub url: String,
    pub error: String,
}

/// What a pass over a source read, before anything is decided.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    pub items: Vec<RemoteItem>,
    pub item_errors: Vec<ItemError>,
    /// Requests that failed; the pass stopped at the first.
    pub errors: Vec<SourceError>,
    pub failed: bool,
    pub retry_after: Option<Duration>,
    /// Every id the source lists now (WordPress), when a full listing was
    /// made: published articles of the source missing from it are
    /// withdrawn.
    pub live_ids: Option<HashSet<String>>,
    /// Ids an Atom feed's tombstones name.
    pub tombstones: Vec<String>,
    /// WordPress: the cursor after this pass.
    pub cursor: Option<String>,
    /// A feed's (ETag, Last-Modified) after this pass.
    pub validators: Option<(Option<String>, Option<String>)>,
    /// A feed answered 304.
    pub not_modified: bool,
}

impl Pass {
    fn fail(&mut self, url: &str, error: &str, retry_after: Option<Duration>) {
        self.failed = true;
        self.retry_after = self.retry_after.max(retry_after);
        self.errors.push(SourceError {
            url: url.to_owned(),
            error: error.to_owned(),
        });
    }
}

/// Which sources a poll reads, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// The daemon: only sources whose `every` has passed since their last
    /// poll; WordPress id listings on their slower cadence.
    Due,
    /// Every source now (a command, or a test driving the daemon), with
    /// WordPress id listings on their cadence.
    Now,
    /// `feedletter ingest`: every source now, with a full id listing.
    Command,
}

/// How often the daemon lists every id of a WordPress source: twelve polls,
/// an hour at least.
pub fn listing_every(every: Duration) -> Duration {
    (every * 12).max(Duration::from_secs(3600))
}

/// After `failures` failed polls in a row, the next waits this long:
/// `every`, doubled with each failure, six hours at most (never less than
/// `every`).
pub fn backoff(every: Duration, failures: u32) -> Duration {
    let doubled = every.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(Duration::from_secs(6 * 3600)).max(every)
}

/// What a poll of all sources did, for the build after it.
#[derive(Debug, Default)]
pub struct PollOutcome {
    pub reports: Vec<SourceReport>,
    /// Topics whose feeds may have changed.
    pub topics_changed: Vec<String>,
    pub wrote: bool,
    pub trending_may_move: bool,
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Whether the daemon polls `source` at `now`.
fn due(source: &SourceConfig, state: &SourceState, now: DateTime<Utc>) -> bool {
    state
        .last_attempt
        .is_none_or(|t| t + to_chrono(source.every) <= now)
}

/// When the daemon next has a source to poll: the earliest time one is
/// due (now, for one never polled). None without sources.
pub async fn next_due(
    store: &dyn Store,
    config: &Config,
) -> Result<Option<DateTime<Utc>>, crate::store::StoreError> {
    let mut next: Option<DateTime<Utc>> = None;
    for source in &config.sources {
        let state = store.source_state(&source.name).await?;
        let at = match state {
            None => DateTime::<Utc>::MIN_UTC,
            Some(s) => {
                let due = s
                    .last_attempt
                    .map_or(DateTime::<Utc>::MIN_UTC, |t| t + to_chrono(source.every));
                due.max(s.next_try.unwrap_or(DateTime::<Utc>::MIN_UTC))
            }
        };
        next = Some(next.map_or(at, |n| n.min(at)));
    }
    Ok(next)
}

/// Sets each source's last-success gauge from the store, so that `/metrics`
/// shows it from start-up, whichever instance polled last.
pub async fn report_last_successes(store: &dyn Store, config: &Config) {
    for source in &config.sources {
        if let Ok(Some(state)) = store.source_state(&source.name).await
            && let Some(t) = state.last_success
        {
            metrics::gauge!(
                "feedletter_source_last_success_timestamp_seconds",
                "source" => source.name.clone()
            )
            .set(t.timestamp() as f64);
        }
    }
}

/// Polls the sources `poll` picks, one after the other, and records what
/// changed. A source that fails is reported in its report; an error comes
/// back only when the store or the vocabulary fails.
pub async fn poll(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    poll: Poll,
) -> Result<PollOutcome, IngestError> {
    poll_with(store, config, clock, poll, &mut IndexCache::default()).await
}

/// `poll` with the article index a long-running poller keeps between
/// polls (read from the store only when its revision moved).
pub async fn poll_with(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    poll: Poll,
    cache: &mut IndexCache,
) -> Result<PollOutcome, IngestError> {
    let mut outcome = PollOutcome::default();
    if config.sources.is_empty() {
        return Ok(outcome);
    }
    let fetcher = Fetcher::new(config.site.base())
        .map_err(|e| IngestError::Store(crate::store::StoreError::Other(anyhow::anyhow!("{e}"))))?;
    let before = store.revision().await.ok();
    let mut index: Option<Vec<IndexEntry>> = cache.take(before);
    let mut changes: Vec<ArticleChange> = Vec::new();
    let mut states: Vec<SourceState> = Vec::new();
    for source in &config.sources {
        let now = clock.now();
        let state = store
            .source_state(&source.name)
            .await?
            .unwrap_or_else(|| SourceState {
                name: source.name.clone(),
                ..SourceState::default()
            });
        if poll == Poll::Due && !due(source, &state, now) {
            continue;
        }
        if let Some(wait) = state.next_try.filter(|t| *t > now) {
            if poll != Poll::Due {
                outcome.reports.push(waiting(source, &state, wait));
            }
            continue;
        }
        let list_ids = match poll {
            Poll::Command => true,
            Poll::Due | Poll::Now => state
                .last_listing
                .is_none_or(|t| t + to_chrono(listing_every(source.every)) <= now),
        };
        let pass = read_source(&fetcher, source, &state, list_ids, false).await;
        let polled = pass_with_state(pass, state, list_ids, now, source);
        let entries = match index.take() {
            Some(e) => e,
            None => store.article_index().await?,
        };
        let polled = keep_first_dates(store, source, polled, &entries).await?;
        // CPU work (sanitizing, topics), off the async threads.
        let (config_now, source_now) = (config.clone(), source.clone());
        let decided = tokio::task::spawn_blocking(move || {
            decide::decide(&config_now, now, &source_now, polled, &entries)
                .map(|(report, changes, state)| (report, changes, state, entries))
        })
        .await
        .map_err(|e| {
            IngestError::Store(crate::store::StoreError::Other(anyhow::anyhow!(
                "source task failed: {e}"
            )))
        })?;
        let (report, mine, state, mut entries) = decided?;
        // The next source sees this one's claims.
        apply_to_index(&mut entries, &mine);
        index = Some(entries);
        outcome.trending_may_move |= trending_may_move(config, now, &mine);
        changes.extend(mine);
        states.push(state);
        outcome.reports.push(report);
    }
    // The articles first, then the states: a crash in between reads the
    // same changes again next time, which are then unchanged.
    if !changes.is_empty() {
        outcome.wrote = true;
        outcome.topics_changed = store.apply_changes(&changes).await?;
    }
    // Kept when the store moved by this poll's own write only.
    let after = store.revision().await.ok();
    if let (Some(before), Some(after), Some(entries)) = (before, after, index)
        && after == before + i64::from(outcome.wrote)
    {
        cache.hold(after, entries);
    }
    for state in &states {
        store.save_source_state(state).await?;
        if let Some(t) = state.last_success {
            metrics::gauge!(
                "feedletter_source_last_success_timestamp_seconds",
                "source" => state.name.clone()
            )
            .set(t.timestamp() as f64);
        }
    }
    for r in &outcome.reports {
        metrics_for(r);
    }
    outcome.topics_changed.sort();
    outcome.topics_changed.dedup();
    Ok(outcome)
}

/// The report of a source not polled: it is backing off, or the server
/// asked to wait.
fn waiting(source: &SourceConfig, state: &SourceState, until: DateTime<Utc>) -> SourceReport {
    let why = if state.failures > 0 {
        format!("backing off after {} failed poll(s)", state.failures)
    } else {
        "the server asked to wait".to_owned()
    };
    let last = state
        .last_error
        .as_deref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default();
    SourceReport {
        name: source.name.clone(),
        errors: vec![SourceError {
            url: source.url.to_string(),
            error: format!(
                "not polled before {} ({why}{last})",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }],
        ..SourceReport::default()
    }
}

/// Items dated only by their last update that are stored already keep
/// the publication time they were first stored with, so an edit does not
/// move them up the feeds as if new.
async fn keep_first_dates(
    store: &dyn Store,
    source: &SourceConfig,
    mut polled: Polled,
    index: &[IndexEntry],
) -> Result<Polled, IngestError> {
    let undated: HashSet<&str> = polled
        .pass
        .items
        .iter()
        .filter(|i| i.dated_by_update)
        .map(|i| i.id.as_str())
        .collect();
    if undated.is_empty() {
        return Ok(polled);
    }
    let slugs: Vec<(&str, &str)> = index
        .iter()
        .filter_map(|e| match e.source.remote() {
            Some((s, id)) if s == source.name && undated.contains(id) => {
                Some((id, e.slug.as_str()))
            }
            _ => None,
        })
        .collect();
    if slugs.is_empty() {
        return Ok(polled);
    }
    let wanted: Vec<&str> = slugs.iter().map(|(_, slug)| *slug).collect();
    let stored = store.articles_by_slug(&wanted).await?;
    let first: std::collections::HashMap<&str, DateTime<Utc>> = stored
        .iter()
        .filter_map(|a| {
            let slug = a.article.slug.as_str();
            let id = slugs.iter().find(|(_, s)| *s == slug)?.0;
            Some((id, a.article.published.to_utc()))
        })
        .collect();
    for item in &mut polled.pass.items {
        if let Some(p) = first.get(item.id.as_str()).filter(|_| item.dated_by_update) {
            item.updated = Some(item.published);
            item.published = *p;
        }
    }
    Ok(polled)
}

/// Reads one source: one pass of its kind.
async fn read_source(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: &SourceState,
    list_ids: bool,
    one_page: bool,
) -> Pass {
    let fetcher = &fetcher.for_source(&source.name, source.timeout);
    match source.kind {
        SourceKind::Wordpress => wordpress::pass(fetcher, source, state, list_ids, one_page).await,
        SourceKind::Feed => feed::pass(fetcher, &source.url, state).await,
    }
}

/// A pass and the state it leaves for the next poll.
pub(crate) struct Polled {
    pass: Pass,
    state: SourceState,
}

fn pass_with_state(
    pass: Pass,
    mut state: SourceState,
    listed: bool,
    now: DateTime<Utc>,
    source: &SourceConfig,
) -> Polled {
    state.last_attempt = Some(now);
    if let Some(c) = &pass.cursor {
        state.cursor = Some(c.clone());
    }
    if let Some((etag, lm)) = &pass.validators {
        state.etag = etag.clone();
        state.last_modified = lm.clone();
    }
    if pass.failed {
        state.failures = state.failures.saturating_add(1);
        // What the server asked for, or our own back-off.
        let wait = pass
            .retry_after
            .unwrap_or_else(|| backoff(source.every, state.failures));
        // The daemon polls again after `every` anyway: a wait only matters
        // when longer.
        state.next_try =
            (wait > source.every || pass.retry_after.is_some()).then(|| now + to_chrono(wait));
        state.last_error = pass
            .errors
            .first()
            .map(|e| format!("{}: {}", e.url, e.error));
    } else {
        state.failures = 0;
        state.next_try = None;
        state.last_error = None;
        state.last_success = Some(now);
        if listed && pass.live_ids.is_some() {
            state.last_listing = Some(now);
        }
    }
    Polled { pass, state }
}

/// Per-source counters.
fn metrics_for(r: &SourceReport) {
    for (change, n) in [
        ("new", r.new.len()),
        ("updated", r.updated.len()),
        ("withdrawn", r.withdrawn.len()),
        ("unchanged", r.unchanged),
    ] {
        metrics::counter!("feedletter_source_items_total", "source" => r.name.clone(), "change" => change)
            .increment(n as u64);
    }
    metrics::counter!("feedletter_source_errors_total", "source" => r.name.clone())
        .increment(r.errors.len() as u64);
    metrics::counter!("feedletter_source_polls_total", "source" => r.name.clone()).increment(1);
}
