//! Ingest: scan the content folder, read what changed, and record new,
//! updated and withdrawn articles in the store in one transaction.
//!
//! A file that fails to read is reported with its path and reason; the rest
//! of the scan goes on and the file's last good version stays published.

pub mod api;
pub mod content_dir;
pub mod sanitize;

use crate::config::Config;
use crate::domain::topic::{ArticlePhrases, TopicRef};
use crate::domain::{Article, Clock};
use crate::store::{ArticleChange, IndexEntry, SourceStamp, Store, StoreError};
use crate::topics::{Matcher, VocabularyError};
use chrono::{DateTime, FixedOffset, Utc};
use content_dir::{Parsed, ReadContext};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
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
    /// Topics whose feeds may have changed.
    #[serde(skip)]
    pub topics_changed: Vec<String>,
    /// The store was written (its revision moved once).
    #[serde(skip)]
    pub wrote: bool,
}

impl IngestReport {
    /// True when the published set changed, so feeds need building.
    pub fn changed(&self) -> bool {
        !(self.new.is_empty() && self.updated.is_empty() && self.withdrawn.is_empty())
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

/// One file found by the scan.
struct Found {
    /// Relative to the content folder, with `/` separators.
    rel: String,
    path: PathBuf,
    stamp: SourceStamp,
}

enum Outcome {
    /// Not read: same stamp as the stored version.
    Unchanged,
    Rejected(String),
    Draft,
    Article {
        article: Box<Article>,
        stripped: usize,
        topics: Vec<TopicRef>,
        phrases: ArticlePhrases,
    },
}

pub fn source_of(rel: &str) -> String {
    format!("file:{rel}")
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

fn scan(dir: &Path, render_key: &str) -> Result<Vec<Found>, std::io::Error> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push((entry.path(), rel));
            } else if meta.is_file() && (name.ends_with(".md") || name.ends_with(".markdown")) {
                let mtime_ns = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
                out.push(Found {
                    rel,
                    path: entry.path(),
                    stamp: SourceStamp {
                        mtime_ns,
                        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
                        render_key: render_key.to_owned(),
                    },
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn read_file(
    found: &Found,
    max: u64,
    ctx: &ReadContext,
    matcher: &Matcher,
    phrases_since: DateTime<Utc>,
) -> Outcome {
    let size = u64::try_from(found.stamp.size).unwrap_or(u64::MAX);
    let too_big = |n: u64| {
        Outcome::Rejected(format!(
            "the file is {n} bytes, over the limit of {max} bytes (content.max_file_size)"
        ))
    };
    if size > max {
        return too_big(size);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let read =
        std::fs::File::open(&found.path).and_then(|f| f.take(max + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Outcome::Rejected(format!("cannot read: {e}"));
    }
    if bytes.len() as u64 > max {
        return too_big(bytes.len() as u64);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return Outcome::Rejected(format!("not valid UTF-8 (first bad byte at offset {at})"));
        }
    };
    let stem = found
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&found.rel)
        .trim_end_matches(".markdown")
        .trim_end_matches(".md");
    match content_dir::read_article(&text, stem, ctx) {
        Ok(Parsed::Draft) => Outcome::Draft,
        Ok(Parsed::Article { article, stripped }) => {
            let (topics, phrases) = matcher.analyze(&article, phrases_since);
            Outcome::Article {
                article,
                stripped,
                topics,
                phrases,
            }
        }
        Err(e) => Outcome::Rejected(e),
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

    /// Lists the folder, off the async threads.
    fn scan(&self) -> impl std::future::Future<Output = Result<Vec<Found>, IngestError>> + use<> {
        let (dir, key) = (self.dir.clone(), self.key.clone());
        let task =
            tokio::task::spawn_blocking(move || scan(&dir, &key).map_err(|source| (dir, source)));
        async move {
            task.await
                .map_err(|e| task_failed("scan", e))?
                .map_err(|(path, source)| IngestError::ContentDir { path, source })
        }
    }

    /// Reads and renders every file whose stamp differs from the stored one
    /// (`stored` by source); CPU work, so off the async threads, on all cores.
    async fn read(
        &self,
        files: Vec<Found>,
        stored: HashMap<String, IndexEntry>,
    ) -> Result<(Vec<Found>, Vec<Outcome>), IngestError> {
        let reader = self.clone();
        tokio::task::spawn_blocking(move || {
            let outcomes: Vec<Outcome> = files
                .par_iter()
                .map(|f| {
                    let same = stored.get(&source_of(&f.rel)).is_some_and(|e| {
                        e.source_mtime_ns == Some(f.stamp.mtime_ns)
                            && e.source_size == Some(f.stamp.size)
                            && e.render_key.as_deref() == Some(f.stamp.render_key.as_str())
                    });
                    if same {
                        Outcome::Unchanged
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
            (files, outcomes)
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
    let now = clock.now();
    let reader = Reader::new(config, now)?;
    // Listing the folder and reading the index overlap.
    let scanning = reader.scan();
    let index = store.article_index().await?;
    let files = scanning.await?;
    let stored: HashMap<String, IndexEntry> = index
        .iter()
        .filter(|e| e.published)
        .map(|e| (e.source.clone(), e.clone()))
        .collect();
    let (files, outcomes) = reader.read(files, stored).await?;

    let (mut report, changes) = decide(&index, &files, outcomes, &config.content.dir, now);
    report.topics_changed = store.apply_changes(&changes).await?;
    report.wrote = !changes.is_empty();
    Ok(report)
}

/// Turns what was read into changes for the store. Pure: no I/O, no clock.
fn decide(
    index: &[IndexEntry],
    files: &[Found],
    outcomes: Vec<Outcome>,
    content_dir: &Path,
    now: DateTime<Utc>,
) -> (IngestReport, Vec<ArticleChange>) {
    let display = |rel: &str| content_dir.join(rel).display().to_string();
    let mut report = IngestReport::default();
    let mut changes = Vec::new();
    let by_slug: HashMap<&str, &IndexEntry> = index.iter().map(|e| (e.slug.as_str(), e)).collect();

    let position: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.rel.as_str(), i))
        .collect();
    // Which slug each source holds after this scan: a stored article keeps
    // its slug while its file is unchanged, rejected, or still claims it.
    let mut claims: BTreeMap<String, String> = BTreeMap::new();
    for e in index.iter().filter(|e| e.published) {
        let Some(rel) = e.source.strip_prefix("file:") else {
            claims.insert(e.slug.clone(), e.source.clone());
            continue;
        };
        let Some(&pos) = position.get(rel) else {
            continue;
        };
        let keeps = match &outcomes[pos] {
            Outcome::Unchanged | Outcome::Rejected(_) => true,
            Outcome::Article { article, .. } => {
                article.slug.as_str() == e.slug && article.published <= now
            }
            Outcome::Draft => false,
        };
        if keeps {
            claims.insert(e.slug.clone(), e.source.clone());
        }
    }

    for (f, outcome) in files.iter().zip(outcomes) {
        let source = source_of(&f.rel);
        match outcome {
            Outcome::Unchanged => {
                report.unchanged += 1;
            }
            Outcome::Draft => {}
            Outcome::Rejected(error) => {
                report.rejected.push(Rejection {
                    file: display(&f.rel),
                    error,
                });
            }
            Outcome::Article {
                article,
                stripped,
                topics,
                phrases,
            } => {
                if article.published > now {
                    report.scheduled.push(Scheduled {
                        file: display(&f.rel),
                        slug: article.slug.to_string(),
                        published: article.published.to_rfc3339(),
                    });
                    continue;
                }
                let slug = article.slug.as_str().to_owned();
                match claims.get(&slug) {
                    Some(owner) if *owner != source => {
                        let other = owner
                            .strip_prefix("file:")
                            .map_or_else(|| owner.clone(), display);
                        report.rejected.push(Rejection {
                            file: display(&f.rel),
                            error: format!("slug: '{slug}' is already used by {other}"),
                        });
                        continue;
                    }
                    _ => {
                        claims.insert(slug.clone(), source.clone());
                    }
                }
                if stripped > 0 {
                    report.warnings.push(Rejection {
                        file: display(&f.rel),
                        error: format!("removed {stripped} control character(s) that XML forbids"),
                    });
                }
                let hash = article.content_hash();
                let stored = by_slug.get(slug.as_str());
                // Topics new to this version count from the version's time.
                let upsert = |updated: DateTime<FixedOffset>,
                              article: Box<Article>,
                              topics_at: DateTime<FixedOffset>| {
                    ArticleChange::Upsert {
                        article,
                        source: source.clone(),
                        updated,
                        stamp: Some(f.stamp.clone()),
                        at: now,
                        topics: topics.clone(),
                        topics_at: topics_at.to_utc(),
                        new_slug: stored.is_none(),
                        phrases: phrases.clone(),
                    }
                };
                match stored {
                    Some(e) if e.published && e.content_hash == hash => {
                        report.unchanged += 1;
                        if e.source == source {
                            changes.push(ArticleChange::Restamp {
                                slug,
                                stamp: f.stamp.clone(),
                                topics: topics.clone(),
                                // Not now: a vocabulary change must not make old articles look new.
                                topics_at: article.updated.unwrap_or(article.published).to_utc(),
                                phrases: phrases.clone(),
                            });
                        } else {
                            // Moved to another file, same content: keep its dates.
                            let updated = article.updated.unwrap_or(article.published);
                            changes.push(upsert(updated, article, updated));
                        }
                    }
                    Some(e) if e.published => {
                        // A change, first seen now unless the source dates it.
                        let updated = article
                            .updated
                            .unwrap_or_else(|| now.with_timezone(&article.published.timezone()))
                            .max(article.published);
                        report.updated.push(slug);
                        changes.push(upsert(updated, article, updated));
                    }
                    _ => {
                        let updated = article.updated.unwrap_or(article.published);
                        let published = article.published;
                        report.new.push(slug);
                        changes.push(upsert(updated, article, published));
                    }
                }
            }
        }
    }

    // Published articles that nothing claims any more: the file is gone,
    // became a draft or scheduled, or now names another slug.
    for e in index.iter().filter(|e| e.published) {
        if !claims.contains_key(&e.slug) {
            report.withdrawn.push(e.slug.clone());
            changes.push(ArticleChange::Withdraw {
                slug: e.slug.clone(),
                at: now,
            });
        }
    }
    report.new.sort();
    report.updated.sort();
    report.withdrawn.sort();
    (report, changes)
}

/// Reads every content file without touching the store: what `check` reports.
pub async fn check_content(config: &Config) -> Result<Vec<Rejection>, IngestError> {
    // No phrases: checking needs none.
    let reader = Reader::new(config, DateTime::<Utc>::MAX_UTC)?;
    let files = reader.scan().await?;
    let (files, outcomes) = reader.read(files, HashMap::new()).await?;
    // Far future: scheduled articles are not problems.
    let (report, _) = decide(
        &[],
        &files,
        outcomes,
        &config.content.dir,
        DateTime::<Utc>::MAX_UTC,
    );
    Ok(report.rejected)
}
