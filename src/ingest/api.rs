//! Articles pushed by a CMS over the admin API, with the same rules as
//! files: the JSON carries the front matter's fields and a `body` in
//! Markdown (or `body_html`), and is read by the same reader. Such articles
//! have the source `api`; a file never takes their slug, nor they a file's.

use super::content_dir::{self, Parsed};
use super::decide::{Version, version_times};
use super::{IngestError, read_context};
use crate::config::Config;
use crate::domain::{Article, ArticleSource, Clock};
use crate::feeds::Scope;
use crate::store::{ArticleChange, IndexEntry, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The article is not acceptable: the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The slug belongs to a content file.
    #[error("{0}")]
    Conflict(String),
    #[error("no article '{0}' was pushed")]
    NotFound(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl PushError {
    /// The field at fault, when the message starts with one (`title: ...`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(m) => m
                .split_once(':')
                .map(|(f, _)| f)
                .filter(|f| !f.contains(' ')),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PushStatus {
    New,
    Updated,
    Unchanged,
    Withdrawn,
    Draft,
}

#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub slug: String,
    pub status: PushStatus,
    pub url: Option<String>,
    /// Feed files rewritten, relative to the feeds folder.
    pub feeds_written: Vec<String>,
}

/// Turns the pushed JSON into the text a content file would hold: JSON is
/// YAML, so the object (without the body) is the front matter as it is.
fn as_file_text(slug: &str, json: serde_json::Value) -> Result<String, PushError> {
    let serde_json::Value::Object(mut fields) = json else {
        return Err(PushError::Invalid(
            "body: expected a JSON object with the front matter's fields and `body` or `body_html`"
                .into(),
        ));
    };
    let body = match (fields.remove("body"), fields.remove("body_html")) {
        (Some(serde_json::Value::String(md)), None) => md,
        (None, Some(serde_json::Value::String(html))) => html,
        (Some(_), Some(_)) => {
            return Err(PushError::Invalid(
                "body: give `body` (Markdown) or `body_html`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(PushError::Invalid(
                "body: missing (`body` in Markdown, or `body_html`)".into(),
            ));
        }
        _ => return Err(PushError::Invalid("body: must be a string".into())),
    };
    match fields.get("slug") {
        None => {}
        Some(serde_json::Value::String(s)) if s.trim() == slug => {}
        Some(other) => {
            return Err(PushError::Invalid(format!(
                "slug: {other} differs from the slug in the URL ('{slug}')"
            )));
        }
    }
    fields.insert("slug".into(), serde_json::Value::String(slug.to_owned()));
    let front =
        serde_json::to_string(&fields).map_err(|e| PushError::Invalid(format!("body: {e}")))?;
    Ok(format!("---\n{front}\n---\n{body}\n"))
}

impl PushReport {
    fn new(
        slug: &str,
        status: PushStatus,
        url: Option<String>,
        feeds_written: Vec<String>,
    ) -> Self {
        Self {
            slug: slug.to_owned(),
            status,
            url,
            feeds_written,
        }
    }
}

/// Reads a pushed article the way a content file is read, after the checks
/// only a push needs.
fn read_pushed(config: &Config, slug: &str, json: serde_json::Value) -> Result<Parsed, PushError> {
    let text = as_file_text(slug, json)?;
    if text.len() as u64 > config.content.max_file_size {
        return Err(PushError::Invalid(format!(
            "body: the article is {} bytes, over the limit of {} (content.max_file_size)",
            text.len(),
            config.content.max_file_size
        )));
    }
    let ctx = read_context(config);
    content_dir::read_article(&text, slug, &ctx).map_err(PushError::Invalid)
}

/// Refuses a slug published from a content file or a `[[source]]`: that
/// owns it, and `instead` tells the client what to do with a file.
fn refuse_file_owned(entry: &IndexEntry, slug: &str, instead: &str) -> Result<(), PushError> {
    if let Some((source, id)) = entry.source.remote() {
        return Err(PushError::Conflict(format!(
            "slug: '{slug}' is published from source '{source}' (item {id}); change it there"
        )));
    }
    match entry.source.file() {
        Some(rel) => Err(PushError::Conflict(format!(
            "slug: '{slug}' is published from {rel}; {instead}"
        ))),
        None => Ok(()),
    }
}

/// An article that may be published now, as pushed.
fn accept(
    slug: &str,
    article: Box<Article>,
    stripped: usize,
    now: DateTime<Utc>,
) -> Result<Box<Article>, PushError> {
    if stripped > 0 {
        tracing::warn!(
            slug,
            stripped,
            "pushed article: removed control characters that XML forbids"
        );
    }
    if article.published > now {
        return Err(PushError::Invalid(format!(
            "published: {} is in the future; pushed articles are published at once, so push it when it is due",
            article.published.to_rfc3339()
        )));
    }
    Ok(article)
}

/// Stores a pushed article (new, updated or unchanged) and rewrites the
/// feeds it touches, so it is served at once.
pub async fn push(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    slug: &str,
    json: serde_json::Value,
) -> Result<PushReport, PushError> {
    let now = clock.now();
    let parsed = read_pushed(config, slug, json)?;
    let index = store.article_index().await?;
    let stored = index.iter().find(|e| e.slug == slug);
    if let Some(e) = stored.filter(|e| e.published) {
        refuse_file_owned(e, slug, "change that file instead")?;
    }
    let article = match parsed {
        // A draft pushed over a published article takes it down.
        Parsed::Draft if stored.is_some_and(|e| e.published) => {
            return withdraw(store, config, clock, slug).await;
        }
        Parsed::Draft => return Ok(PushReport::new(slug, PushStatus::Draft, None, Vec::new())),
        Parsed::Article { article, stripped } => accept(slug, article, stripped, now)?,
    };
    let hash = article.content_hash();
    let (status, version) = match stored {
        Some(e) if e.published && e.content_hash == hash => (PushStatus::Unchanged, Version::Same),
        Some(e) if e.published => (PushStatus::Updated, Version::Changed),
        _ => (PushStatus::New, Version::New),
    };
    let url = Some(article.url.clone());
    if status == PushStatus::Unchanged {
        return Ok(PushReport::new(slug, status, url, Vec::new()));
    }
    let matcher = crate::topics::load_matcher(config).map_err(IngestError::from)?;
    let (topics, phrases) = matcher.analyze(&article, crate::topics::phrase_horizon(config, now));

    let (updated, topics_at) = version_times(&article, version, now);
    let change = ArticleChange::Upsert {
        article,
        content_hash: hash,
        source: ArticleSource::Api,
        updated,
        stamp: None,
        at: now,
        topics,
        topics_at: topics_at.to_utc(),
        new_slug: stored.is_none(),
        phrases,
    };
    let touched = store.apply_changes(&[change]).await?;
    let feeds_written = rebuild(store, config, clock, touched).await;
    Ok(PushReport::new(slug, status, url, feeds_written))
}

/// Takes a pushed article out of the feeds (its row and guid stay, so a
/// later push brings it back with the same identity).
pub async fn withdraw(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    slug: &str,
) -> Result<PushReport, PushError> {
    let index = store.article_index().await?;
    let Some(entry) = index.iter().find(|e| e.slug == slug && e.published) else {
        return Err(PushError::NotFound(slug.to_owned()));
    };
    refuse_file_owned(entry, slug, "delete or unpublish that file instead")?;
    let touched = store
        .apply_changes(&[ArticleChange::Withdraw {
            slug: slug.to_owned(),
            at: clock.now(),
        }])
        .await?;
    let feeds_written = rebuild(store, config, clock, touched).await;
    Ok(PushReport::new(
        slug,
        PushStatus::Withdrawn,
        None,
        feeds_written,
    ))
}

/// The main feeds and the touched topics' feeds; a failure is logged, not
/// returned: the article is stored, and the next scheduled build retries.
async fn rebuild(
    store: &dyn Store,
    config: &Config,
    clock: &dyn Clock,
    topics: Vec<String>,
) -> Vec<String> {
    let scope = Scope::Changed {
        main: true,
        topics,
        trending: false,
    };
    match crate::feeds::build_feeds(store, config, clock.now(), &scope).await {
        Ok(b) => b.written,
        Err(e) => {
            tracing::error!(error = %e, "feed build after a push failed; the next scheduled build retries");
            Vec::new()
        }
    }
}
