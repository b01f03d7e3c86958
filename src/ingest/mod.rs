//! Ingest: scan the content folder, read what changed, and record new,
//! updated and withdrawn articles in the store in one transaction.
//!
//! A file that fails to read is reported with its path and reason; the rest
//! of the scan goes on and the file's last good version stays published.

pub mod api;
pub mod content_dir;
mod decide;
mod files;
mod front_matter;
pub mod sanitize;

use crate::config::Config;
use crate::domain::{Article, ArticleSource, ArticleStatus, Clock, StoredArticle};
use crate::store::{ArticleChange, IndexEntry, Store, StoreError};
use crate::topics::{Matcher, VocabularyError};
use chrono::{DateTime, FixedOffset, Utc};
use content_dir::ReadContext;
use decide::decide;
pub(crate) use decide::{Version, version_times};
use files::{ContentFile, FileRead, read_file, refresh_listing, scan};
pub use files::{is_article_name, is_content_folder_name};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// What one ingest did. Serialized as `ingest --json` prints it.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct IngestReport {
    pub new: Vec<String>,
    pub updated: Vec<String>,
    pub withdrawn: Vec<String>,
    pub rejected: Vec<Rejection>,
    /// Articles whose `published` time is still ahead.
    pub scheduled: Vec<Scheduled>,
    pub warnings: Vec<Rejection>,
    pub unchanged: usize,
    /// What each `[[source]]` polled gave (empty when none was).
    pub sources: Vec<crate::sources::SourceReport>,
    /// Topics whose feeds may have changed.
    #[serde(skip)]
    pub topics_changed: Vec<String>,
    /// The store was written (its revision moved once).
    #[serde(skip)]
    pub wrote: bool,
    /// The articles that write stored, restamped or withdrew, when this
    /// ingest alone knows them all (None once a source poll is added).
    #[serde(skip)]
    pub changed_slugs: Option<Vec<String>>,
    /// A change can move the trending report: an article published within
    /// the trending windows and baseline was stored, or one was withdrawn.
    #[serde(skip)]
    pub trending_may_move: bool,
}

impl IngestReport {
    /// True when the published set changed, so feeds need building.
    pub fn changed(&self) -> bool {
        !(self.new.is_empty() && self.updated.is_empty() && self.withdrawn.is_empty())
            || self
                .sources
                .iter()
                .any(crate::sources::SourceReport::changed)
    }

    /// Adds what a poll of the sources did.
    pub fn add_sources(&mut self, outcome: crate::sources::PollOutcome) {
        if outcome.wrote {
            self.changed_slugs = None;
        }
        self.wrote |= outcome.wrote;
        self.trending_may_move |= outcome.trending_may_move;
        self.topics_changed.extend(outcome.topics_changed);
        self.topics_changed.sort();
        self.topics_changed.dedup();
        self.sources.extend(outcome.reports);
    }

    /// Whether any source reported a problem.
    pub fn source_errors(&self) -> usize {
        self.sources.iter().map(|s| s.errors.len()).sum()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scheduled {
    pub file: String,
    pub slug: String,
    pub published: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("content folder {path}: {source}")]
    ContentDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vocabulary(#[from] VocabularyError),
}

/// What affects how a file is read besides its bytes: when it changes, every
/// file is read again.
fn render_key(ctx: &ReadContext, matcher: &Matcher, horizon_days: u32) -> String {
    use sha2::{Digest, Sha256};
    // The phrase horizon's length: a longer one needs older articles' phrases.
    let key = format!(
        "{}|{}|{}|{}|{}|{}|{}|{:?}",
        env!("CARGO_PKG_VERSION"),
        crate::topics::EXTRACTION_VERSION,
        matcher.fingerprint(),
        horizon_days,
        ctx.article_url,
        ctx.timezone,
        ctx.default_author.name,
        ctx.default_author.email
    );
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

pub fn read_context(config: &Config) -> ReadContext {
    ReadContext {
        timezone: config.site.timezone,
        default_author: config.site.author.clone(),
        article_url: config
            .site
            .article_url
            .replace("{base_url}", config.site.base()),
    }
}

/// What reading the content folder needs, prepared once per scan.
#[derive(Clone)]
struct Reader {
    ctx: ReadContext,
    matcher: Arc<Matcher>,
    key: String,
    dir: PathBuf,
    max: u64,
    /// Articles published before this get no phrases (`phrase_horizon`).
    phrases_since: DateTime<Utc>,
}

fn task_failed(what: &str, e: tokio::task::JoinError) -> IngestError {
    IngestError::Store(StoreError::Other(anyhow::anyhow!(
        "{what} task failed: {e}"
    )))
}

/// What a listing task gave: its files, or its failure naming the folder.
type Listing = Result<Vec<ContentFile>, (PathBuf, std::io::Error)>;

/// A listing task's outcome as the ingest reports it.
fn listed(
    joined: Result<Listing, tokio::task::JoinError>,
) -> Result<Vec<ContentFile>, IngestError> {
    joined
        .map_err(|e| task_failed("scan", e))?
        .map_err(|(path, source)| IngestError::ContentDir { path, source })
}

impl Reader {
    fn new(config: &Config, now: DateTime<Utc>) -> Result<Self, IngestError> {
        let ctx = read_context(config);
        let matcher = crate::topics::load_matcher(config)?;
        let key = render_key(&ctx, &matcher, crate::topics::phrase_horizon_days(config));
        Ok(Self {
            ctx,
            matcher,
            key,
            dir: config.content.dir.clone(),
            max: config.content.max_file_size,
            phrases_since: crate::topics::phrase_horizon(config, now),
        })
    }

    /// Lists the folder, off the async threads: only the paths `what`
    /// names when the last scan's listing (`held`) can be brought up to
    /// date with them, else all of it.
    fn scan(
        &self,
        what: &Scan,
        held: Option<Vec<ContentFile>>,
    ) -> impl std::future::Future<Output = Result<Vec<ContentFile>, IngestError>> + use<> {
        let (dir, key) = (self.dir.clone(), self.key.clone());
        let named = match what {
            Scan::Paths { root, paths } => Some((root.clone(), paths.clone())),
            Scan::Full => None,
        };
        let task = tokio::task::spawn_blocking(move || {
            let refreshed = match (held, named) {
                (Some(files), Some((root, paths))) => {
                    refresh_listing(files, (&root, &dir), &paths, &key)
                }
                _ => None,
            };
            match refreshed {
                Some(files) => Ok(files),
                None => scan(&dir, &key).map_err(|source| (dir, source)),
            }
        });
        async move { listed(task.await) }
    }

    /// Reads and renders every file whose stamp differs from the one the
    /// index holds for it; CPU work, so off the async threads, on all
    /// cores. The files and the index come back with what was read.
    async fn read(
        &self,
        files: Vec<ContentFile>,
        index: Vec<IndexEntry>,
    ) -> Result<(Vec<ContentFile>, Vec<FileRead>, Vec<IndexEntry>), IngestError> {
        let reader = self.clone();
        tokio::task::spawn_blocking(move || {
            let stored: foldhash::HashMap<&str, &IndexEntry> = index
                .iter()
                .filter(|s| s.published)
                .filter_map(|s| Some((s.source.file()?, s)))
                .collect();
            let same: Vec<bool> = files
                .iter()
                .map(|f| {
                    stored.get(f.rel.as_str()).is_some_and(|e| {
                        e.source_mtime_ns == Some(f.stamp.mtime_ns)
                            && e.source_size == Some(f.stamp.size)
                            && e.render_key.as_deref() == Some(f.stamp.render_key.as_str())
                    })
                })
                .collect();
            reader
                .matcher
                .prepare_for(same.iter().filter(|s| !**s).count());
            let reads: Vec<FileRead> = files
                .par_iter()
                .zip(&same)
                .map(|(f, same)| {
                    if *same {
                        FileRead::Unchanged
                    } else {
                        read_file(
                            f,
                            reader.max,
                            &reader.ctx,
                            &reader.matcher,
                            reader.phrases_since,
                        )
                    }
                })
                .collect();
            drop(stored);
            (files, reads, index)
        })
        .await
        .map_err(|e| task_failed("read", e))
    }
}

/// Scans the content folder once and records what changed.
pub async fn ingest_once(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<IngestReport, IngestError> {
    ingest_with(
        store,
        config,
        clock,
        &mut IndexCache::default(),
        &Scan::Full,
    )
    .await
}

/// Which files of the content folder a scan looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// Lists the whole folder and compares every file's stamp.
    Full,
    /// Only these paths changed since the last scan (the watcher saw them,
    /// as absolute paths below `root`, the content folder): the listing the
    /// last scan left in the `IndexCache` is brought up to date by looking
    /// at them alone. Without a listing, or when a path is not an article
    /// file (a folder moved, say), the scan is full.
    Paths { root: PathBuf, paths: Vec<PathBuf> },
}

/// The store's article index as a long-running ingester keeps it between
/// scans, with the store revision it is good for. A scan reads the index
/// from the store only when the revision moved under it (a push through
/// the admin API, another instance); its own changes are applied to the
/// copy in memory. Beside it, the content folder's listing from the last
/// scan, which a `Scan::Paths` updates instead of listing the folder.
#[derive(Debug, Default)]
pub struct IndexCache {
    held: Option<HeldIndex>,
    files: Option<HeldFiles>,
    /// The articles the last scan stored under slugs new to the store, as
    /// the store now holds them (see `handover`).
    stored: Vec<StoredArticle>,
    /// Whether a scan storing many new articles renders their feed entries
    /// while it writes them (`feeds::render_ahead`): for a build that
    /// follows at once, in a process that then exits.
    render_ahead: bool,
    /// What the last scan started rendering ahead.
    ahead: Option<crate::feeds::Ahead>,
}

/// The last scan's listing, with the render key its stamps carry.
#[derive(Debug)]
struct HeldFiles {
    key: String,
    /// Sorted by relative path, as `scan` lists them.
    files: Vec<ContentFile>,
}

fn files_held(cache: &IndexCache) -> usize {
    cache.files.as_ref().map_or(0, |h| h.files.len())
}

#[derive(Debug)]
struct HeldIndex {
    revision: i64,
    /// Sorted by slug, as the store lists it.
    entries: Vec<IndexEntry>,
}

impl IndexCache {
    /// The index held, sorted by slug; None when the next scan reads it
    /// from the store.
    pub fn entries(&self) -> Option<&[IndexEntry]> {
        self.held.as_ref().map(|h| h.entries.as_slice())
    }

    /// The index for the store at `revision`, if held.
    pub(crate) fn take(&mut self, revision: Option<i64>) -> Option<Vec<IndexEntry>> {
        match (self.held.take(), revision) {
            (Some(h), Some(r)) if h.revision == r => Some(h.entries),
            _ => None,
        }
    }
}

impl IndexCache {
    /// A cache for one scan and the build that follows it at once, as a
    /// command runs them: a scan that stores many new articles renders
    /// their feed entries while it writes them (see `feeds::render_ahead`;
    /// a daemon does not, to keep its memory flat).
    pub fn rendering_ahead() -> Self {
        Self {
            render_ahead: true,
            ..Self::default()
        }
    }

    /// What the last scan hands the build that follows: the articles it
    /// stored under slugs new to the store, as the store holds them (so
    /// that the build need not read them back: a cold ingest's build would
    /// read every article; none when another writer moved the store
    /// meanwhile), and the entries it rendered ahead.
    pub fn handover(&mut self) -> crate::feeds::Known {
        crate::feeds::Known {
            articles: std::mem::take(&mut self.stored),
            ahead: self.ahead.take(),
        }
    }

    /// The store's revision and its article index: the kept copy when it
    /// is good for that revision, else read from the store.
    async fn current_index(
        &mut self,
        store: &dyn Store,
    ) -> Result<(Option<i64>, Vec<IndexEntry>), IngestError> {
        let before = store.revision().await.ok();
        let index = match self.take(before) {
            Some(entries) => entries,
            None => store.article_index().await?,
        };
        Ok((before, index))
    }

    /// Holds `entries` as the index of the store at `revision`.
    pub(crate) fn hold(&mut self, revision: i64, entries: Vec<IndexEntry>) {
        self.held = Some(HeldIndex { revision, entries });
    }
}

/// Applies `changes` to `entries` (sorted by slug) as the store applies them
/// to its index columns.
pub(crate) fn apply_to_index(entries: &mut Vec<IndexEntry>, changes: &[ArticleChange]) {
    let at = |entries: &Vec<IndexEntry>, slug: &str| {
        entries.binary_search_by(|e| e.slug.as_str().cmp(slug))
    };
    for change in changes {
        match change {
            ArticleChange::Upsert {
                article,
                content_hash,
                source,
                stamp,
                ..
            } => {
                let entry = IndexEntry {
                    slug: article.slug.to_string(),
                    source: source.clone(),
                    published: true,
                    content_hash: content_hash.clone(),
                    source_mtime_ns: stamp.as_ref().map(|s| s.mtime_ns),
                    source_size: stamp.as_ref().map(|s| s.size),
                    render_key: stamp.as_ref().map(|s| s.render_key.clone()),
                };
                match at(entries, &entry.slug) {
                    Ok(i) => entries[i] = entry,
                    Err(i) => entries.insert(i, entry),
                }
            }
            ArticleChange::Restamp { slug, stamp, .. } => {
                if let Ok(i) = at(entries, slug) {
                    let e = &mut entries[i];
                    e.source_mtime_ns = Some(stamp.mtime_ns);
                    e.source_size = Some(stamp.size);
                    e.render_key = Some(stamp.render_key.clone());
                }
            }
            ArticleChange::Withdraw { slug, .. } => {
                if let Ok(i) = at(entries, slug) {
                    let e = &mut entries[i];
                    e.published = false;
                    e.source_mtime_ns = None;
                    e.source_size = None;
                    e.render_key = None;
                }
            }
        }
    }
}

/// Whether `changes` can move the trending report: an article stored with
/// a publication time inside the longest window plus the baseline before
/// `now`, or a withdrawal (its time is not at hand, so it counts).
pub(crate) fn trending_may_move(
    config: &Config,
    now: DateTime<Utc>,
    changes: &[ArticleChange],
) -> bool {
    let t = &config.topics;
    let horizon = now
        - chrono::Duration::days(i64::from(
            t.window_days.max(t.long_window_days) + t.baseline_days,
        ));
    changes.iter().any(|c| match c {
        ArticleChange::Upsert { article, .. } => article.published.to_utc() >= horizon,
        ArticleChange::Withdraw { .. } => true,
        ArticleChange::Restamp { .. } => false,
    })
}

/// Scans the content folder once and records what changed, with the index
/// `cache` keeps between scans (read from the store when it is not good for
/// the store's current revision).
pub async fn ingest_with(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    cache: &mut IndexCache,
    scan: &Scan,
) -> Result<IngestReport, IngestError> {
    let now = clock.now();
    let began = std::time::Instant::now();
    cache.stored.clear();
    cache.ahead = None;
    // Reading the index overlaps compiling the vocabulary (a command's
    // first, some milliseconds) and then listing the folder.
    let held = cache.files.take();
    let (listed, indexed) = tokio::join!(list(config, now, scan, held), cache.current_index(store));
    let ((reader, files), (before, index)) = (listed?, indexed?);
    let files = match files {
        Ok(files) => files,
        Err(e) if sources_only(config, &e) => {
            let report = without_content_folder(config, &index);
            if let Some(revision) = before {
                cache.hold(revision, index);
            }
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    let listed_at = began.elapsed();
    let (files, reads, index) = reader.read(files, index).await?;
    let read_at = began.elapsed();
    let (mut report, changes) = decide(&index, &files, reads, &config.content.dir, now);
    let decided_at = began.elapsed();
    cache.files = Some(HeldFiles {
        key: reader.key.clone(),
        files,
    });
    report.wrote = !changes.is_empty();
    report.changed_slugs = Some(
        changes
            .iter()
            .map(|c| match c {
                ArticleChange::Upsert { article, .. } => article.slug.to_string(),
                // A restamp may give the article other topics (the
                // vocabulary changed while the process ran).
                ArticleChange::Withdraw { slug, .. } | ArticleChange::Restamp { slug, .. } => {
                    slug.clone()
                }
            })
            .collect(),
    );
    report.trending_may_move = trending_may_move(config, now, &changes);
    // Shared with the thread rendering entries ahead while they are
    // written, which takes its copies first.
    let changes = Arc::new(changes);
    if report.wrote {
        if cache.render_ahead {
            cache.ahead = render_ahead(config, &changes);
        }
        report.topics_changed = store.apply_changes(&changes).await?;
    }
    // That thread let go of them long ago, unless the write was quicker
    // than copying: then they are copied here.
    let changes = Arc::unwrap_or_clone(changes);
    tracing::debug!(
        files = files_held(cache),
        list_ms = listed_at.as_secs_f64() * 1e3,
        read_ms = (read_at - listed_at).as_secs_f64() * 1e3,
        decide_ms = (decided_at - read_at).as_secs_f64() * 1e3,
        write_ms = (began.elapsed() - decided_at).as_secs_f64() * 1e3,
        "content folder ingested"
    );
    // Kept when the store moved by exactly this scan's own write (or not at
    // all); anything else means another writer: read it again next time.
    let after = store.revision().await.ok();
    if let (Some(before), Some(after)) = (before, after)
        && after == before + i64::from(report.wrote)
    {
        let mut entries = index;
        apply_to_index(&mut entries, &changes);
        cache.held = Some(HeldIndex {
            revision: after,
            entries,
        });
        cache.stored = stored_new(changes);
    }
    Ok(report)
}

/// Compiles the vocabulary (off the async threads) and lists the folder,
/// from `held` (the last scan's listing) when `scan` allows; the listing's
/// own failure comes back beside the reader.
async fn list(
    config: &Config,
    now: DateTime<Utc>,
    scan: &Scan,
    held: Option<HeldFiles>,
) -> Result<(Reader, Result<Vec<ContentFile>, IngestError>), IngestError> {
    let compile = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Reader::new(&config, now))
    };
    let compiled = |joined: Result<Result<Reader, IngestError>, tokio::task::JoinError>| {
        joined.map_err(|e| task_failed("vocabulary", e))?
    };
    if held.is_some() && matches!(scan, Scan::Paths { .. }) {
        // A held listing is good only for the key it was stamped with,
        // which the vocabulary gives.
        let reader = compiled(compile.await)?;
        let held = held.filter(|h| h.key == reader.key);
        let files = reader.scan(scan, held.map(|h| h.files)).await;
        return Ok((reader, files));
    }
    // The whole folder is listed: while the vocabulary compiles (a
    // command's first tens of milliseconds, each on a core of its own),
    // with the stamps' key filled in after.
    let dir = config.content.dir.clone();
    let listing =
        tokio::task::spawn_blocking(move || files::scan(&dir, "").map_err(|source| (dir, source)));
    let reader = compiled(compile.await)?;
    let files = listed(listing.await).map(|mut files| {
        for f in &mut files {
            f.stamp.render_key.clone_from(&reader.key);
        }
        files
    });
    Ok((reader, files))
}

/// The articles `changes` stored under slugs new to the store, as a read
/// of the store would give them.
fn stored_new(changes: Vec<ArticleChange>) -> Vec<StoredArticle> {
    changes
        .into_iter()
        .filter_map(|c| match c {
            ArticleChange::Upsert {
                article,
                source,
                updated,
                new_slug: true,
                ..
            } => Some(as_stored(*article, &source, updated)),
            _ => None,
        })
        .collect()
}

/// A new slug's article as the store holds it: its guid is its URL at
/// first insert (`article_upsert`).
fn as_stored(
    article: Article,
    source: &ArticleSource,
    updated: DateTime<FixedOffset>,
) -> StoredArticle {
    StoredArticle {
        guid: article.url.clone(),
        updated,
        status: ArticleStatus::Published,
        source: source.to_string(),
        article,
    }
}

/// Starts rendering the feed entries of the articles `changes` stores under
/// new slugs, when they are many (`feeds::render_ahead`).
fn render_ahead(config: &Config, changes: &Arc<Vec<ArticleChange>>) -> Option<crate::feeds::Ahead> {
    if changes.iter().filter_map(new_article).count() < crate::feeds::AHEAD_FROM {
        return None;
    }
    let changes = changes.clone();
    crate::feeds::render_ahead(config, move || {
        changes
            .iter()
            .filter_map(new_article)
            .map(|(article, source, updated, topics)| {
                (as_stored(article.clone(), source, updated), topics)
            })
            .collect()
    })
}

/// The article of a change that stores it under a new slug, with its
/// source, effective `updated` and whether it has topics.
fn new_article(
    c: &ArticleChange,
) -> Option<(&Article, &ArticleSource, DateTime<FixedOffset>, bool)> {
    match c {
        ArticleChange::Upsert {
            article,
            source,
            updated,
            topics,
            new_slug: true,
            ..
        } => Some((article, source, *updated, !topics.is_empty())),
        _ => None,
    }
}

impl IngestError {
    /// The content folder does not exist (as opposed to being unreadable).
    pub fn is_absent_content_folder(&self) -> bool {
        matches!(self, Self::ContentDir { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// A site whose articles all come from `[[source]]` entries may have no
/// content folder: `e` says it has none, and it has sources.
fn sources_only(config: &Config, e: &IngestError) -> bool {
    e.is_absent_content_folder() && !config.sources.is_empty()
}

/// The report of a scan of a content folder that is absent on a site with
/// sources: nothing read, nothing withdrawn. An absent folder is not an
/// empty one: articles read from files before stay published, with a
/// warning, since only an existing empty folder says they are gone.
fn without_content_folder(config: &Config, index: &[IndexEntry]) -> IngestReport {
    let from_files = index
        .iter()
        .filter(|e| e.published && e.source.file().is_some())
        .count();
    let mut report = IngestReport::default();
    if from_files > 0 {
        report.warnings.push(Rejection {
            file: config.content.dir.display().to_string(),
            error: format!(
                "the content folder is absent: the {from_files} article(s) read from files \
                 before stay published (restore the folder, or create it empty to withdraw them)"
            ),
        });
    }
    report
}

/// Reads every content file without touching the store: what `check` reports.
pub async fn check_content(config: &Config) -> Result<Vec<Rejection>, IngestError> {
    // No phrases: checking needs none.
    let reader = Reader::new(config, DateTime::<Utc>::MAX_UTC)?;
    let files = reader.scan(&Scan::Full, None).await?;
    let (files, reads, _) = reader.read(files, Vec::new()).await?;
    // Far future: scheduled articles are not problems.
    let (report, _) = decide(
        &[],
        &files,
        reads,
        &config.content.dir,
        DateTime::<Utc>::MAX_UTC,
    );
    Ok(report.rejected)
}
