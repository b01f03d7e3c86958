//! Feed files: RSS 2.0, Atom 1.0 and JSON Feed 1.1, written from view
//! structs (never from database rows), deterministic to the byte, written
//! atomically and only when their bytes change.
//!
//! Each feed but the trending one also has RFC 5005 archive pages, and its
//! Atom flavour carries RFC 6721 tombstones for recent withdrawals: see
//! `archive`.

pub mod archive;
pub mod atom;
mod entries;
pub mod json;
pub mod opml;
mod places;
mod plan;
pub use entries::Ahead;
pub use places::Places;
pub mod revision;
pub mod rss;
pub mod websub;
pub mod write;

use crate::config::{Config, FeedFormat};
use crate::domain::{Person, StoredArticle};
use crate::store::{Store, StoreError};
use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// One feed as every format sees it.
#[derive(Debug, Clone)]
pub struct FeedView {
    pub title: String,
    pub description: String,
    /// The site's home page.
    pub home_url: String,
    /// Path of the feed folder relative to `feeds/` ("" for the main feeds,
    /// "topics/retinol" for a topic).
    pub path: String,
    pub base_url: String,
    pub language: String,
    pub author: Person,
    /// The newest `updated` of its items; the Unix epoch when empty, so that
    /// an empty feed is as deterministic as a full one.
    pub updated: DateTime<FixedOffset>,
    pub items: Vec<Arc<ItemView>>,
    pub hub: Option<String>,
    /// Set when this view is archive page `n` of the feed at `path` rather
    /// than its subscription document.
    pub page: Option<u32>,
    /// The feed's newest archive page, in a subscription document; None
    /// when it has no full page yet (or in an archive page).
    pub newest_archive: Option<u32>,
    /// RFC 6721 tombstones, newest first: only the Atom subscription
    /// document writes them.
    pub tombstones: Vec<Tombstone>,
    /// The formats the feed is published in (`feeds.formats`): an archive
    /// page links to the subscription document of its own kind.
    pub formats: Vec<FeedFormat>,
}

/// A withdrawn article's `at:deleted-entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The id its entry had.
    pub id: String,
    pub when: DateTime<Utc>,
}

impl FeedView {
    /// The public URL of this view in `format`.
    pub fn url(&self, format: FeedFormat) -> String {
        self.public(&self.file(format))
    }

    /// This view's file in `format`, relative to the feeds folder: the
    /// subscription document, or an archive page (Atom and RSS archive
    /// pages are the same Atom file).
    pub fn file(&self, format: FeedFormat) -> String {
        match self.page {
            Some(n) => archive::page_file(&self.path, n, format),
            None => self.current_file(format),
        }
    }

    /// The subscription document's file in `format`.
    pub fn current_file(&self, format: FeedFormat) -> String {
        if self.path.is_empty() {
            format.file_name().to_owned()
        } else {
            format!("{}/{}", self.path, format.file_name())
        }
    }

    /// The public URL of a file relative to the feeds folder.
    pub fn public(&self, rel: &str) -> String {
        format!("{}/feeds/{rel}", self.base_url)
    }

    /// The formats this view is written in: every configured one for a
    /// subscription document; Atom (when RSS or Atom is configured) and
    /// JSON Feed for an archive page.
    pub fn written_formats(&self) -> Vec<FeedFormat> {
        if self.page.is_none() {
            return self.formats.clone();
        }
        archive::page_formats(&self.formats)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub slug: String,
    pub id: String,
    pub url: String,
    pub title: String,
    pub summary: String,
    pub content_html: String,
    pub author: Person,
    pub reviewed_by: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
}

impl From<StoredArticle> for ItemView {
    /// Taking the article's strings rather than copying them: a full build
    /// makes an item of each of the store's articles.
    fn from(s: StoredArticle) -> Self {
        let a = s.article;
        Self {
            slug: a.slug.to_string(),
            id: s.guid,
            url: a.url,
            title: a.title,
            summary: a.summary,
            content_html: a.content_html,
            author: a.author,
            reviewed_by: a.reviewed_by,
            tags: a.tags,
            category: a.category,
            image: a.image,
            published: a.published,
            updated: s.updated,
        }
    }
}

impl ItemView {
    /// The summary-only item topic archive pages carry (see `archive`):
    /// everything but the body.
    pub(crate) fn slim(&self) -> Self {
        Self {
            slug: self.slug.clone(),
            id: self.id.clone(),
            url: self.url.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            content_html: String::new(),
            author: self.author.clone(),
            reviewed_by: self.reviewed_by.clone(),
            tags: self.tags.clone(),
            category: self.category.clone(),
            image: self.image.clone(),
            published: self.published,
            updated: self.updated,
        }
    }
}

/// What an ingest hands the build that follows it: the articles it stored
/// under new slugs, as the store holds them (not read again), and the
/// rendering of their entries it started (`render_ahead`).
#[derive(Default)]
pub struct Known {
    pub articles: Vec<StoredArticle>,
    pub ahead: Option<Ahead>,
}

/// New articles fewer than this are not rendered ahead (`render_ahead`):
/// their entries are a few milliseconds of a build's work.
pub const AHEAD_FROM: usize = 200;

/// Starts rendering, on a thread of its own, the archive entries (whole and
/// summary-only) of articles new to the store, while the caller writes
/// them to it: see `entries` on rendering ahead. `articles` gives them (on
/// that thread: copying thousands of articles is work too), each as the
/// store will hold it and whether it has topics. None when the feeds have
/// no archive.
pub fn render_ahead(
    config: &Config,
    articles: impl FnOnce() -> Vec<(StoredArticle, bool)> + Send + 'static,
) -> Option<Ahead> {
    if config.feeds.archive_page_size == 0 {
        return None;
    }
    let formats = archive::page_formats(&config.feeds.formats)
        .into_iter()
        .map(|f| match f {
            FeedFormat::Json => json::RENDERER,
            FeedFormat::Rss | FeedFormat::Atom => atom::RENDERER,
        })
        .collect();
    Some(entries::ahead(formats, move || {
        let articles = articles();
        let mut items = Vec::with_capacity(articles.len() * 2);
        for (article, topics) in articles {
            let item = ItemView::from(article);
            if topics {
                items.push(item.slim());
            }
            items.push(item);
        }
        items
    }))
}

fn epoch() -> DateTime<FixedOffset> {
    DateTime::UNIX_EPOCH.fixed_offset()
}

/// Newest first by publication, ties by slug.
fn sort_items(items: &mut [Arc<ItemView>]) {
    items.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.slug.cmp(&b.slug))
    });
}

/// Orders items newest first by publication, ties by slug, keeps
/// `feeds.limit` of them and builds the view.
pub fn feed_view(
    config: &Config,
    path: &str,
    title: String,
    description: String,
    items: Vec<Arc<ItemView>>,
) -> FeedView {
    let mut items = items;
    sort_items(&mut items);
    items.truncate(config.feeds.limit);
    page_view(config, path, title, description, items)
}

/// A view of exactly these items, newest first.
fn page_view(
    config: &Config,
    path: &str,
    title: String,
    description: String,
    items: Vec<Arc<ItemView>>,
) -> FeedView {
    let mut items = items;
    sort_items(&mut items);
    let updated = items.iter().map(|i| i.updated).max().unwrap_or_else(epoch);
    FeedView {
        title,
        description,
        home_url: format!("{}/", config.site.base()),
        path: path.to_owned(),
        base_url: config.site.base().to_owned(),
        language: config.site.language.clone(),
        author: config.site.author.clone(),
        updated,
        items,
        hub: config.websub.as_ref().map(|w| w.hub.to_string()),
        page: None,
        newest_archive: None,
        tombstones: Vec::new(),
        formats: config.feeds.formats.clone(),
    }
}

/// Renders one feed in one format.
pub fn render(view: &FeedView, format: FeedFormat) -> Vec<u8> {
    match format {
        FeedFormat::Rss => rss::render(view),
        FeedFormat::Atom => atom::render(view),
        FeedFormat::Json => json::render(view),
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BuildReport {
    /// Files whose bytes changed, relative to the feeds folder.
    pub written: Vec<String>,
    pub unchanged: usize,
    /// What the build deleted, relative to the feeds folder: topic folders
    /// ("topics/x", with everything under them, archive pages included)
    /// of topics that have no article any more, and single archive pages
    /// ("archive/7.xml") a feed no longer has.
    pub removed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a build writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every feed, and topic folders of topics that no longer have articles
    /// are removed.
    All,
    /// Only what an ingest may have changed.
    Changed {
        /// The main feeds.
        main: bool,
        /// These topics' feeds.
        topics: Vec<String>,
        /// The trending feeds and the OPML index.
        trending: bool,
    },
}

/// One file a build writes.
enum Output<'a> {
    Feed(&'a FeedView, FeedFormat),
    Bytes(&'a [u8]),
}

/// Writes every feed once; files whose bytes would not change are left alone.
pub async fn build_feeds_once(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<BuildReport, BuildError> {
    build_feeds(store, config, now, &Scope::All).await
}

/// Writes the feeds `scope` names.
pub async fn build_feeds(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<BuildReport, BuildError> {
    build_feeds_with(
        store,
        config,
        now,
        scope,
        &mut Places::default(),
        Known::default(),
    )
    .await
}

/// `build_feeds` with the articles' archive places kept in `places`
/// between builds (see `places`), and articles the caller holds as the
/// store does (`known`: those its ingest just stored, say), which are not
/// read again.
pub async fn build_feeds_with(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
    scope: &Scope,
    places: &mut Places,
    known: Known,
) -> Result<BuildReport, BuildError> {
    let started = std::time::Instant::now();
    let Known {
        articles: known,
        mut ahead,
    } = known;
    let plan::Plan {
        views,
        remove,
        remove_files,
        manifests,
        opml,
    } = plan::plan(store, config, now, scope, places, known).await?;
    let planned = started.elapsed();
    // The build renders on every core from here: entries not rendered
    // ahead yet are rendered by it (those that were stay pinned until
    // `ahead` is dropped, after the render).
    let rendered_ahead = ahead.as_mut().map(entries::Ahead::stop);
    let mut report = BuildReport::default();
    let dir = config.feeds.dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        // Rendering is CPU work and the files are independent: all cores.
        let mut jobs: Vec<(String, Output)> = views
            .iter()
            .flat_map(|v| {
                v.written_formats()
                    .into_iter()
                    .map(move |f| (v.file(f), Output::Feed(v, f)))
            })
            .collect();
        if let Some(bytes) = &opml {
            jobs.push(("index.opml".to_owned(), Output::Bytes(bytes)));
        }
        let results: Vec<(String, Result<bool, BuildError>)> = jobs
            .into_par_iter()
            .map(|(rel, output)| {
                let bytes = match output {
                    Output::Feed(view, format) => std::borrow::Cow::Owned(render(view, format)),
                    Output::Bytes(b) => std::borrow::Cow::Borrowed(b),
                };
                let path = dir.join(&rel);
                let result = write::write_if_changed(&path, &bytes)
                    .map_err(|source| BuildError::Write { path, source });
                (rel, result)
            })
            .collect();
        for (rel, result) in results {
            match result? {
                true => report.written.push(rel),
                false => report.unchanged += 1,
            }
        }
        // After the pages: a fingerprint is only recorded for a page that
        // was written.
        for (rel, bytes) in manifests {
            let path = dir.join(&rel);
            match bytes {
                Some(bytes) => {
                    write::write_if_changed(&path, &bytes)
                        .map_err(|source| BuildError::Write { path, source })?;
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        for rel in remove_files {
            if std::fs::remove_file(dir.join(&rel)).is_ok() {
                report.removed.push(rel);
            }
        }
        for id in remove {
            let folder = dir.join("topics").join(&id);
            if folder.is_dir() {
                for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
                    let _ = std::fs::remove_file(folder.join(format.file_name()));
                }
                archive::remove_folder(&folder.join(archive::DIR));
                let _ = std::fs::remove_dir(&folder);
                report.removed.push(format!("topics/{id}"));
            }
        }
        tracing::debug!(
            plan_ms = planned.as_secs_f64() * 1000.0,
            write_ms = (started.elapsed() - planned).as_secs_f64() * 1000.0,
            files = views.len(),
            rendered_ahead,
            "feeds built"
        );
        Ok::<_, BuildError>(report)
    })
    .await
    .map_err(|e| {
        BuildError::Store(StoreError::Other(anyhow::anyhow!("build task failed: {e}")))
    })??;
    // What was rendered ahead and not used is dropped now.
    drop(ahead);
    Ok(report)
}
