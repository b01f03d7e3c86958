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
use crate::domain::Clock;
use crate::store::{IndexEntry, Store, StoreError};
use crate::topics::{Matcher, VocabularyError};
use chrono::{DateTime, Utc};
use content_dir::ReadContext;
use decide::decide;
use files::{ContentFile, FileRead, read_file, scan};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
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
    fn scan(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<ContentFile>, IngestError>> + use<> {
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
    /// (`stored` by file path); CPU work, so off the async threads, on all
    /// cores.
    async fn read(
        &self,
        files: Vec<ContentFile>,
        stored: HashMap<String, IndexEntry>,
    ) -> Result<(Vec<ContentFile>, Vec<FileRead>), IngestError> {
        let reader = self.clone();
        tokio::task::spawn_blocking(move || {
            let reads: Vec<FileRead> = files
                .par_iter()
                .map(|f| {
                    let same = stored.get(&f.rel).is_some_and(|e| {
                        e.source_mtime_ns == Some(f.stamp.mtime_ns)
                            && e.source_size == Some(f.stamp.size)
                            && e.render_key.as_deref() == Some(f.stamp.render_key.as_str())
                    });
                    if same {
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
            (files, reads)
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
    let stamps: HashMap<String, IndexEntry> = index
        .iter()
        .filter(|s| s.published)
        .filter_map(|s| Some((s.source.file()?.to_owned(), s.clone())))
        .collect();
    let (files, reads) = reader.read(files, stamps).await?;

    let (mut report, changes) = decide(&index, &files, reads, &config.content.dir, now);
    report.topics_changed = store.apply_changes(&changes).await?;
    report.wrote = !changes.is_empty();
    Ok(report)
}

/// Reads every content file without touching the store: what `check` reports.
pub async fn check_content(config: &Config) -> Result<Vec<Rejection>, IngestError> {
    // No phrases: checking needs none.
    let reader = Reader::new(config, DateTime::<Utc>::MAX_UTC)?;
    let files = reader.scan().await?;
    let (files, reads) = reader.read(files, HashMap::new()).await?;
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
