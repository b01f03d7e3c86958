//! Storage behind one trait; the backend is chosen by the URL scheme of
//! `[store].url`: `sqlite://` (one file, the default) or `postgres://`
//! (several instances on one database). Only this module touches SQL.
//!
//! Each backend has its own migrations and its own statements where the
//! dialects differ (batched lists: `json_each` on SQLite, arrays on
//! PostgreSQL; outbox claims: `FOR UPDATE SKIP LOCKED` on PostgreSQL);
//! rows come back in the same shape and are read by `rows`.

pub mod digests;
mod postgres;
mod postgres_digests;
mod postgres_subscribers;
mod rows;
mod shared;
mod sqlite;
mod sqlite_digests;
mod sqlite_subscribers;
pub mod subscribers;

pub use digests::{Claimed, DigestArticle, DigestRun, DigestStore, NewRun, Outcome, RunCounts};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use subscribers::{ImportBatch, ImportRow, NewSubscriber, QueuedMail, SubscriberStore};

use crate::config::StoreConfig;
use crate::domain::topic::{ArticlePhrases, TopicRef};
use crate::domain::{Article, StoredArticle};
use chrono::{DateTime, FixedOffset, Utc};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the store's data is not what this version expects: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            e => Self::Other(e.into()),
        }
    }
}

/// What the store knows of an article without loading its body: enough for
/// ingest to decide what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub slug: String,
    pub source: String,
    pub published: bool,
    pub content_hash: String,
    pub source_mtime_ns: Option<i64>,
    pub source_size: Option<i64>,
    pub render_key: Option<String>,
}

/// How the source file looked when it was read, so that an unchanged file
/// need not be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStamp {
    pub mtime_ns: i64,
    pub size: i64,
    pub render_key: String,
}

/// A published article as trending lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicArticle {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub published: DateTime<Utc>,
}

/// A topic of a published article, when it first appeared there.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicOccurrence {
    pub slug: String,
    pub topic: String,
    pub label: String,
    pub first_seen: DateTime<Utc>,
    /// How prominently the article names it (`TopicRef::prominence`).
    pub prominence: u8,
}

/// What trending needs, for published articles only.
#[derive(Debug, Clone, Default)]
pub struct TopicData {
    pub articles: Vec<TopicArticle>,
    pub occurrences: Vec<TopicOccurrence>,
}

#[derive(Debug, Clone)]
pub enum ArticleChange {
    /// First sight of a slug, or its return after a withdrawal (its guid is
    /// kept then), or a changed version.
    Upsert {
        article: Box<Article>,
        source: String,
        /// Effective `updated`.
        updated: DateTime<FixedOffset>,
        stamp: Option<SourceStamp>,
        at: DateTime<Utc>,
        /// What the article is about now; a topic it did not have before is
        /// recorded as first seen at `topics_at`.
        topics: Vec<TopicRef>,
        topics_at: DateTime<Utc>,
        /// The slug has never been stored: there are no old topic rows to
        /// compare with or clear (a cold ingest skips that work).
        new_slug: bool,
        /// Its salient phrases no vocabulary knows.
        phrases: ArticlePhrases,
    },
    /// The source is unchanged in content but its file stamp moved (or the
    /// vocabulary changed, so its topics are recomputed).
    Restamp {
        slug: String,
        stamp: SourceStamp,
        topics: Vec<TopicRef>,
        topics_at: DateTime<Utc>,
        phrases: ArticlePhrases,
    },
    /// Out of the feeds; the row and its guid stay.
    Withdraw { slug: String, at: DateTime<Utc> },
}

#[async_trait::async_trait]
pub trait Store: SubscriberStore + DigestStore + Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Reachable, and every migration this build knows is applied.
    async fn ready(&self) -> Result<(), StoreError>;
    /// (published, withdrawn) articles.
    async fn article_counts(&self) -> Result<(u64, u64), StoreError>;
    /// Every article ever stored, published or withdrawn, without bodies.
    async fn article_index(&self) -> Result<Vec<IndexEntry>, StoreError>;
    /// Applies one ingest's changes in a single transaction. Returns the
    /// topics whose feeds may have changed: those the changed articles had
    /// before or have now, sorted.
    async fn apply_changes(&self, changes: &[ArticleChange]) -> Result<Vec<String>, StoreError>;
    /// Every topic with a published article: (id, label, articles), by id.
    async fn topics(&self) -> Result<Vec<(String, String, u32)>, StoreError>;
    /// A topic's label, if any article has it.
    async fn topic_label(&self, topic: &str) -> Result<Option<String>, StoreError>;
    /// A topic's published articles, newest first (published time, then slug).
    async fn topic_articles(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<StoredArticle>, StoreError>;
    /// Published articles, newest first (published time, then slug).
    async fn published_articles(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<StoredArticle>, StoreError>;
    /// Published articles' publication times and topic occurrences.
    async fn topic_data(&self) -> Result<TopicData, StoreError>;
    /// Published articles published at or after `since`: (slug, published,
    /// phrases).
    async fn phrase_data(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>, ArticlePhrases)>, StoreError>;
    /// One published article.
    async fn article(&self, slug: &str) -> Result<Option<StoredArticle>, StoreError>;
    /// A number that moves whenever an ingest changes articles: instances
    /// that do not ingest rebuild their feeds when it does.
    async fn revision(&self) -> Result<i64, StoreError>;
    /// Takes the lease `name` for `holder` until `expires`, or renews it;
    /// false while another holder's lease has not expired at `now`.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up, if `holder` has it.
    async fn drop_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// Opens the store the config names and applies its migrations.
pub async fn connect(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Sqlite { path } => {
            let store = SqliteStore::open(path).await?;
            store.migrate().await?;
            Ok(Arc::new(store))
        }
        StoreConfig::Postgres { url } => {
            let store = PgStore::open(url).await?;
            store.migrate().await?;
            Ok(Arc::new(store))
        }
    }
}
