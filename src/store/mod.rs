//! Storage behind one trait; the backend is chosen by the URL scheme of
//! `[store].url`: `sqlite://` (one file, the default) or `postgres://`
//! (several instances on one database). Only this module touches SQL.
//!
//! The layout, and why:
//! - this file, `subscribers.rs` and `digests.rs` hold the traits the rest
//!   of the crate calls (`Store`, `SubscriberStore`, `DigestStore`) and the
//!   types they pass; nothing in them knows SQL;
//! - `sql/` is the one implementation, `SqlStore<B>`, split by concern
//!   (articles, topics, leases, subscribers, digests). Its statements are
//!   written once, as plain Rust generic over the backend: both dialects
//!   read them the same (numbered `$1` parameters included). `sql/db.rs`
//!   says once what they need from sqlx, so that generic code carries the
//!   one bound `B: Backend`;
//! - `backend/` holds what really differs, behind the `Backend` trait:
//!   opening a store and its migrations, lists bound as a JSON document
//!   (`json_each`) on SQLite and as arrays (`= ANY`, `unnest`) on
//!   PostgreSQL, the batched writes built on them, and `FOR UPDATE SKIP
//!   LOCKED` claims;
//! - `rows.rs` reads rows, which come back in the same shape from both;
//!   `mail_kind.rs` is the one enum the store keeps as text.

mod backend;
pub mod bounces;
pub mod digests;
pub mod instances;
mod mail_kind;
mod rows;
pub mod sources;
mod sql;
pub mod subscribers;

pub use backend::Backend;
pub use bounces::{BounceEffect, BounceKind, BounceReport, BounceStore};
pub use digests::{
    Claimed, DigestArticle, DigestRun, DigestStore, NewRun, OutboxError, OutboxOutcome, RunCounts,
};
pub use instances::{Held, InstanceRecord, InstanceStore, Recovered, Recovery};
pub use mail_kind::MailKind;
pub use sources::SourceState;
pub use sql::SqlStore;
pub use subscribers::{ImportBatch, ImportRow, NewSubscriber, QueuedMail, SubscriberStore};

/// The store on one SQLite file.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// The store on a PostgreSQL database.
pub type PgStore = SqlStore<sqlx::Postgres>;

use crate::config::StoreConfig;
use crate::domain::topic::{ArticlePhrases, TopicRef};
use crate::domain::{Article, ArticleSource, StoredArticle};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::BTreeMap;
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
    pub source: ArticleSource,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicOccurrence {
    /// Index into `TopicData::articles`.
    pub article: u32,
    /// Index into `TopicData::topics`.
    pub topic: u32,
    pub first_seen: DateTime<Utc>,
    /// How prominently the article names it (`TopicRef::prominence`).
    pub prominence: u8,
}

/// A topic as its rows name it: its id and the label stored with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTopic {
    pub id: String,
    pub label: String,
}

/// A topic with published articles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSummary {
    pub id: String,
    pub label: String,
    /// Published articles that have it.
    pub articles: u32,
}

/// A published article's salient phrases, for trending's candidates.
#[derive(Debug, Clone)]
pub struct PublishedPhrases {
    pub slug: String,
    pub published: DateTime<Utc>,
    pub phrases: ArticlePhrases,
}

/// What trending needs, for published articles only: the articles (by
/// slug), the topics their rows name (each once), and the rows, by article
/// and then topic id.
#[derive(Debug, Clone, Default)]
pub struct TopicData {
    pub articles: Vec<TopicArticle>,
    pub topics: Vec<StoredTopic>,
    pub occurrences: Vec<TopicOccurrence>,
}

impl TopicData {
    /// Every article and topic row given as (slug, topic, label, first
    /// seen, prominence) put in the order `Store::topic_data` gives them:
    /// articles by slug, rows by article and then topic id, each topic
    /// named once (a tag's label is its first row's, in that order). A row
    /// whose slug is not among the articles is left out.
    pub fn from_rows<'a>(
        mut articles: Vec<TopicArticle>,
        rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str, DateTime<Utc>, u8)>,
    ) -> Self {
        articles.sort_by(|a, b| a.slug.cmp(&b.slug));
        let position: foldhash::HashMap<&str, u32> = articles
            .iter()
            .enumerate()
            .map(|(i, a)| (a.slug.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        // By article position, then topic id: no slug compared.
        let mut placed: Vec<(u32, &str, &str, DateTime<Utc>, u8)> = rows
            .into_iter()
            .filter_map(|(slug, topic, label, at, prominence)| {
                Some((*position.get(slug)?, topic, label, at, prominence))
            })
            .collect();
        placed.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut topics: Vec<StoredTopic> = Vec::new();
        let mut named: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
        let occurrences = placed
            .iter()
            .map(|&(article, id, label, first_seen, prominence)| {
                let topic = *named.entry(id).or_insert_with(|| {
                    topics.push(StoredTopic {
                        id: id.to_owned(),
                        label: label.to_owned(),
                    });
                    u32::try_from(topics.len() - 1).unwrap_or(u32::MAX)
                });
                TopicOccurrence {
                    article,
                    topic,
                    first_seen,
                    prominence,
                }
            })
            .collect();
        Self {
            articles,
            topics,
            occurrences,
        }
    }

    /// The stored topic of an occurrence.
    pub fn topic(&self, o: &TopicOccurrence) -> &StoredTopic {
        &self.topics[o.topic as usize]
    }
}

/// An article's place in a feed's archive, without its body: what a build
/// needs to number the archive pages and to tell whether a page's bytes
/// can have changed. Withdrawn articles are listed too: they keep their
/// place, so that the pages after them do not shift.
///
/// The strings are shared: a build copies each touched topic's entries
/// out of the site's (37,000 of them for one article of 13 topics at
/// 10,000 articles), and copying two strings for each was a tenth of a
/// daemon's run after one save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub slug: Arc<str>,
    pub published: bool,
    /// What changes whenever the article's rendering can: its content hash
    /// and effective `updated`.
    pub content_hash: Arc<str>,
    pub updated_ts: i64,
    /// Its publication time (Unix seconds): the subscription documents
    /// list the newest published first.
    pub published_ts: i64,
}

/// An article withdrawn from the feeds, for tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawn {
    pub slug: String,
    /// The id its entries had.
    pub guid: String,
    pub at: DateTime<Utc>,
    /// The topics it had when it was withdrawn, sorted.
    pub topics: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum ArticleChange {
    /// First sight of a slug, or its return after a withdrawal (its guid is
    /// kept then), or a changed version.
    Upsert {
        article: Box<Article>,
        /// `article.content_hash()`, computed once where the article was
        /// read (in parallel, for a folder): serialising and hashing every
        /// article again on the one thread that writes cost a cold ingest
        /// of 10,000 articles about 0.1 s each time.
        content_hash: String,
        source: ArticleSource,
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
pub trait Store:
    SubscriberStore + DigestStore + BounceStore + InstanceStore + Send + Sync + 'static
{
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the store is reachable.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the store's connections, waiting for those in use. On SQLite
    /// the last connection to a database to close writes its write-ahead
    /// log back and deletes it: a process that leaves a large log behind
    /// makes every process that opens the database next read it all.
    async fn close(&self);
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
    /// Every topic with a published article, by id.
    async fn topics(&self) -> Result<Vec<TopicSummary>, StoreError>;
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
    /// The published articles published or updated at or after `since`
    /// (`DateTime::MIN_UTC`: every one), with all their topic occurrences:
    /// every article a trending report over a span from `since` counts.
    async fn topic_data(&self, since: DateTime<Utc>) -> Result<TopicData, StoreError>;
    /// When each of `topics` first appeared in a published article (the
    /// earliest time of its topic rows), for those that ever did.
    async fn first_appearances(
        &self,
        topics: &[&str],
    ) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError>;
    /// Published articles published at or after `since`, by slug.
    async fn phrase_data(&self, since: DateTime<Utc>) -> Result<Vec<PublishedPhrases>, StoreError>;
    /// Every article ever stored, published or withdrawn, in the order they
    /// were first stored (then slug): the site feed's archive order.
    async fn archive_entries(&self) -> Result<Vec<ArchiveEntry>, StoreError>;
    /// `archive_entries` of these slugs alone (those stored), in the same
    /// order.
    async fn archive_entries_of(&self, slugs: &[&str]) -> Result<Vec<ArchiveEntry>, StoreError>;
    /// The slugs of each topic's articles (published or withdrawn), in no
    /// set order; every topic any article has when `topics` is None. Read
    /// before `archive_entries`, they give each topic's archive order.
    async fn topic_slugs(
        &self,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError>;
    /// The topics of each of `slugs` that has any, in no set order: what a
    /// build that keeps `topic_slugs` between builds reads after a change.
    async fn topics_of_articles(
        &self,
        slugs: &[&str],
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError>;
    /// How many articles (published or withdrawn) the site has, and each
    /// topic: the archive pages' count without reading every entry.
    async fn archive_counts(&self) -> Result<(u64, BTreeMap<String, u64>), StoreError>;
    /// These articles, those of them that are published, in no set order.
    async fn articles_by_slug(&self, slugs: &[&str]) -> Result<Vec<StoredArticle>, StoreError>;
    /// Articles withdrawn at or after `since`, newest withdrawal first.
    async fn withdrawn_since(&self, since: DateTime<Utc>) -> Result<Vec<Withdrawn>, StoreError>;
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
    /// What the last poll of `[[source]]` `name` left, if it was ever polled.
    async fn source_state(&self, name: &str) -> Result<Option<SourceState>, StoreError>;
    /// Records a source's state after a poll.
    async fn save_source_state(&self, state: &SourceState) -> Result<(), StoreError>;
}

/// Opens the store the config names and applies its migrations.
pub async fn connect(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    connect_with_cache(config, backend::sqlite::CACHE_KIB).await
}

/// SQLite page cache per connection for a process that only sends digests.
/// Its own queries touch a few pages each (claims, results, tokens); but
/// building a run's material reads every article's topics once, and with
/// the general 64 MiB per connection those pages stayed cached: `digest
/// send` on a 4,000-article site peaked at 117 MiB, 49 MiB of it SQLite's
/// cache. SQLite's own default is about 2 MiB.
pub const SENDING_CACHE_KIB: u32 = 4_096;

/// `connect` for `digest send`: a small page cache (`SENDING_CACHE_KIB`).
pub async fn connect_for_sending(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    connect_with_cache(config, SENDING_CACHE_KIB).await
}

async fn connect_with_cache(
    config: &StoreConfig,
    cache_kib: u32,
) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match config {
        StoreConfig::Sqlite { path } => {
            Arc::new(SqliteStore::open_with_cache(path, cache_kib).await?)
        }
        StoreConfig::Postgres { url } => Arc::new(PgStore::open(url).await?),
    };
    store.migrate().await?;
    Ok(store)
}
