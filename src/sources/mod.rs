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

mod feed;
pub mod http;
pub mod item;
mod wordpress;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::domain::{ArticleSource, Clock, Slug};
use crate::ingest::{IngestError, Version, apply_to_index, trending_may_move, version_times};
use crate::store::{ArticleChange, IndexEntry, SourceState, Store};
use chrono::{DateTime, Utc};
use http::Fetcher;
use item::{ItemError, RemoteItem};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
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

/// Polls the sources `poll` picks, one after the other, and records what
/// changed. A source that fails is reported in its report; an error comes
/// back only when the store or the vocabulary fails.
pub async fn poll(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    poll: Poll,
) -> Result<PollOutcome, IngestError> {
    let mut outcome = PollOutcome::default();
    if config.sources.is_empty() {
        return Ok(outcome);
    }
    let fetcher = Fetcher::new(config.site.base())
        .map_err(|e| IngestError::Store(crate::store::StoreError::Other(anyhow::anyhow!("{e}"))))?;
    let mut index: Option<Vec<IndexEntry>> = None;
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
        let mut entries = match index.take() {
            Some(e) => e,
            None => store.article_index().await?,
        };
        let (report, mine, state) = decide(config, now, source, polled, &entries)?;
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

/// Reads one source: one pass of its kind.
async fn read_source(
    fetcher: &Fetcher,
    source: &SourceConfig,
    state: &SourceState,
    list_ids: bool,
    one_page: bool,
) -> Pass {
    match source.kind {
        SourceKind::Wordpress => wordpress::pass(fetcher, source, state, list_ids, one_page).await,
        SourceKind::Feed => feed::pass(fetcher, &source.url, state).await,
    }
}

/// A pass and the state it leaves for the next poll.
struct Polled {
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

/// Decides what a pass changes and logs its problems; returns the report,
/// the changes and the state to save once they are applied.
fn decide(
    config: &Config,
    now: DateTime<Utc>,
    source: &SourceConfig,
    polled: Polled,
    index: &[IndexEntry],
) -> Result<(SourceReport, Vec<ArticleChange>, SourceState), IngestError> {
    let Polled { pass, state } = polled;
    let matcher = crate::topics::load_matcher(config)?;
    let phrases_since = crate::topics::phrase_horizon(config, now);
    let mut report = SourceReport {
        name: source.name.clone(),
        errors: pass.errors.clone(),
        ..SourceReport::default()
    };
    let fallback_url = source.url.to_string();
    report
        .errors
        .extend(pass.item_errors.iter().map(|e| SourceError {
            url: e.url.clone().unwrap_or_else(|| fallback_url.clone()),
            error: e.error.clone(),
        }));
    let mut decision = Decision::new(&source.name, index);
    let mut changes = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for item in pass.items {
        if item.published > now {
            // Not due yet: read again when the source still lists it.
            continue;
        }
        if !seen.insert(item.id.clone()) {
            continue;
        }
        let remote = ArticleSource::Remote {
            source: source.name.clone(),
            id: item.id.clone(),
        };
        let item_url = item.url.to_string();
        let stored = decision.by_source.get(&remote).copied();
        // The slug it was given, unless it was withdrawn and something
        // else has published that slug since.
        let slug = stored
            .filter(|e| e.published || decision.holder(&e.slug, &remote).is_none())
            .and_then(|e| Slug::parse(&e.slug).ok());
        let slug = match slug {
            Some(s) => s,
            None => match decision.free_slug(&item.wanted_slug(), &remote) {
                Ok(s) => s,
                Err(error) => {
                    report.errors.push(SourceError {
                        url: item_url,
                        error,
                    });
                    continue;
                }
            },
        };
        decision.claim(slug.as_str(), &remote);
        let article = item.into_article(slug, &config.site.author);
        let slug_text = article.slug.as_str().to_owned();
        let version = match stored {
            Some(e) if e.published && e.content_hash == article.content_hash() => Version::Same,
            Some(e) if e.published => Version::Changed,
            _ => Version::New,
        };
        match version {
            Version::Same => {
                report.unchanged += 1;
                continue;
            }
            Version::Changed => report.updated.push(slug_text),
            Version::New => report.new.push(slug_text),
        }
        let (updated, topics_at) = version_times(&article, version, now);
        let (topics, phrases) = matcher.analyze(&article, phrases_since);
        changes.push(ArticleChange::Upsert {
            new_slug: !decision.known_slugs.contains(article.slug.as_str()),
            article: Box::new(article),
            source: remote,
            updated,
            stamp: None,
            at: now,
            topics,
            topics_at: topics_at.to_utc(),
            phrases,
        });
    }
    // Removed at the source: not in a full listing, or named by a tombstone.
    let gone: HashSet<&str> = pass.tombstones.iter().map(String::as_str).collect();
    for (remote, entry) in &decision.by_source {
        let Some((_, id)) = remote.remote() else {
            continue;
        };
        let listed_gone = pass
            .live_ids
            .as_ref()
            .is_some_and(|live| !live.contains(id) && !seen.contains(id));
        if entry.published && (listed_gone || gone.contains(id)) {
            report.withdrawn.push(entry.slug.clone());
            changes.push(ArticleChange::Withdraw {
                slug: entry.slug.clone(),
                at: now,
            });
        }
    }
    report.new.sort();
    report.updated.sort();
    report.withdrawn.sort();
    for e in &report.errors {
        tracing::warn!(source = %source.name, url = %e.url, error = %e.error, "source");
    }
    Ok((report, changes, state))
}

/// Which slugs are taken, and by what, as a pass places its items.
struct Decision<'a> {
    name: &'a str,
    /// This source's articles, published or not, by identity.
    by_source: HashMap<ArticleSource, &'a IndexEntry>,
    /// Published slugs and who holds them, this pass's claims included.
    claims: HashMap<String, ArticleSource>,
    /// Every slug ever stored.
    known_slugs: HashSet<&'a str>,
}

impl<'a> Decision<'a> {
    fn new(name: &'a str, index: &'a [IndexEntry]) -> Self {
        Self {
            name,
            by_source: index
                .iter()
                .filter(|e| e.source.remote().is_some_and(|(s, _)| s == name))
                .map(|e| (e.source.clone(), e))
                .collect(),
            claims: index
                .iter()
                .filter(|e| e.published)
                .map(|e| (e.slug.clone(), e.source.clone()))
                .collect(),
            known_slugs: index.iter().map(|e| e.slug.as_str()).collect(),
        }
    }

    /// Who else publishes `slug`, if anyone.
    fn holder(&self, slug: &str, by: &ArticleSource) -> Option<&ArticleSource> {
        self.claims.get(slug).filter(|h| *h != by)
    }

    fn claim(&mut self, slug: &str, by: &ArticleSource) {
        self.claims.insert(slug.to_owned(), by.clone());
    }

    /// `wanted` when nothing else publishes it, else `<source>-<wanted>`;
    /// an error naming both holders when that is taken too.
    fn free_slug(&self, wanted: &Slug, by: &ArticleSource) -> Result<Slug, String> {
        let holder = |s: &str| self.holder(s, by);
        let Some(first) = holder(wanted.as_str()) else {
            return Ok(wanted.clone());
        };
        let prefixed = Slug::slugify(&format!("{}-{}", self.name, wanted.as_str()))
            .map_err(|e| format!("slug: {e}"))?;
        match holder(prefixed.as_str()) {
            None => {
                tracing::warn!(
                    source = self.name,
                    slug = wanted.as_str(),
                    holder = %first,
                    instead = prefixed.as_str(),
                    "slug already published from elsewhere; the source's article takes the prefixed slug"
                );
                Ok(prefixed)
            }
            Some(second) => Err(format!(
                "slug: '{}' is already used by {first} and '{}' by {second}",
                wanted.as_str(),
                prefixed.as_str()
            )),
        }
    }
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

/// What `sources test` shows: one page of a source, read but not stored.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub name: String,
    pub items: Vec<PreviewItem>,
    pub errors: Vec<SourceError>,
}

#[derive(Debug, Serialize)]
pub struct PreviewItem {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub url: String,
    pub published: String,
    pub tags: Vec<String>,
}

/// Fetches one page of the source `name` and reads it, writing nothing
/// (its stored state is read for nothing either: a first page as a first
/// poll would ask for it).
pub async fn test(config: &Config, name: &str) -> Result<Preview, String> {
    let source = config
        .sources
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
            format!(
                "no [[source]] named '{name}' (sources: {})",
                names.join(", ")
            )
        })?;
    let fetcher = Fetcher::new(config.site.base()).map_err(|e| e.to_string())?;
    let state = SourceState {
        name: source.name.clone(),
        ..SourceState::default()
    };
    let pass = read_source(&fetcher, source, &state, false, true).await;
    let mut errors = pass.errors;
    errors.extend(pass.item_errors.into_iter().map(|e| SourceError {
        url: e.url.unwrap_or_else(|| source.url.to_string()),
        error: e.error,
    }));
    let items = pass
        .items
        .into_iter()
        .map(|item| {
            let slug = item.wanted_slug();
            let a = item.clone().into_article(slug, &config.site.author);
            PreviewItem {
                id: item.id,
                slug: a.slug.as_str().to_owned(),
                title: a.title,
                url: a.url,
                published: a.published.to_rfc3339(),
                tags: a.tags,
            }
        })
        .collect();
    Ok(Preview {
        name: source.name.clone(),
        items,
        errors,
    })
}
