//! Articles pushed by a CMS over the admin API, with the same rules as
//! files: the JSON carries the front matter's fields and a `body` in
//! Markdown (or `body_html`), and is read by the same reader. Such articles
//! have the source `api`; a file never takes their slug, nor they a file's.

use super::content_dir::{self, Parsed};
use super::{IngestError, read_context};
use crate::config::Config;
use crate::domain::Clock;
use crate::feeds::Scope;
use crate::store::{ArticleChange, Store};
use serde::Serialize;

/// The source recorded for pushed articles.
pub const SOURCE: &str = "api";

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
    let text = as_file_text(slug, json)?;
    if text.len() as u64 > config.content.max_file_size {
        return Err(PushError::Invalid(format!(
            "body: the article is {} bytes, over the limit of {} (content.max_file_size)",
            text.len(),
            config.content.max_file_size
        )));
    }
    let ctx = read_context(config);
    let parsed = content_dir::read_article(&text, slug, &ctx).map_err(PushError::Invalid)?;
    let index = store.article_index().await?;
    let stored = index.iter().find(|e| e.slug == slug);
    if let Some(e) = stored.filter(|e| e.published && e.source != SOURCE) {
        return Err(PushError::Conflict(format!(
            "slug: '{slug}' is published from {}; change that file instead",
            e.source.trim_start_matches("file:")
        )));
    }
    let (article, stripped) = match parsed {
        Parsed::Draft => {
            // A draft pushed over a published article takes it down.
            return if stored.is_some_and(|e| e.published) {
                withdraw(store, config, clock, slug).await
            } else {
                Ok(PushReport {
                    slug: slug.to_owned(),
                    status: PushStatus::Draft,
                    url: None,
                    feeds_written: Vec::new(),
                })
            };
        }
        Parsed::Article { article, stripped } => (article, stripped),
    };
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
    let hash = article.content_hash();
    let status = match stored {
        Some(e) if e.published && e.content_hash == hash => PushStatus::Unchanged,
        Some(e) if e.published => PushStatus::Updated,
        _ => PushStatus::New,
    };
    let url = Some(article.url.clone());
    if status == PushStatus::Unchanged {
        return Ok(PushReport {
            slug: slug.to_owned(),
            status,
            url,
            feeds_written: Vec::new(),
        });
    }
    let matcher = crate::topics::load_matcher(config).map_err(IngestError::from)?;
    let (topics, phrases) = matcher.analyze(&article, crate::topics::phrase_horizon(config, now));
    let updated = match status {
        // A change, first seen now unless the article dates it.
        PushStatus::Updated => article
            .updated
            .unwrap_or_else(|| now.with_timezone(&article.published.timezone()))
            .max(article.published),
        _ => article.updated.unwrap_or(article.published),
    };
    let topics_at = if status == PushStatus::New {
        article.published
    } else {
        updated
    };
    let change = ArticleChange::Upsert {
        article,
        source: SOURCE.to_owned(),
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
    Ok(PushReport {
        slug: slug.to_owned(),
        status,
        url,
        feeds_written,
    })
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
    if entry.source != SOURCE {
        return Err(PushError::Conflict(format!(
            "slug: '{slug}' is published from {}; delete or unpublish that file instead",
            entry.source.trim_start_matches("file:")
        )));
    }
    let touched = store
        .apply_changes(&[ArticleChange::Withdraw {
            slug: slug.to_owned(),
            at: clock.now(),
        }])
        .await?;
    let feeds_written = rebuild(store, config, clock, touched).await;
    Ok(PushReport {
        slug: slug.to_owned(),
        status: PushStatus::Withdrawn,
        url: None,
        feeds_written,
    })
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
