//! The one implementation of the store, `SqlStore<B>`, for both backends.
//!
//! Every statement here reads the same on SQLite and PostgreSQL (numbered
//! `$1` parameters included); where the dialects differ, the code asks the
//! `Backend` (a list condition and its bind, a batched write, the claim
//! lock). Files follow the store's concerns: `articles` (what ingest
//! writes and the feeds read), `archives` (the feeds' archive pages and
//! tombstones), `topics`, `leases` (leases and the store
//! revision), `instances` (sending processes, their heartbeats and the
//! recovery of a dead one's rows), `subscribers` (subscribers, tokens, transactional mail) and
//! `digests` (runs and their outbox); `plan` sorts one ingest's changes
//! into named rows, `db` says once what sqlx must provide.
//!
//! `Store` is implemented here, forwarding to each concern's methods, so
//! that the trait's list of methods stays in one place;
//! `SubscriberStore`, `DigestStore` and `InstanceStore` are implemented
//! whole in their files.

mod archives;
mod articles;
mod bounces;
mod db;
mod digests;
mod instances;
mod leases;
mod plan;
mod sources;
mod subscribers;
mod topics;

pub use db::{Sql, SqlDb};
pub use plan::{TopicRow, TopicSet};
pub use subscribers::{ImportCommon, key, topics_json};

use super::backend::Backend;
use super::{
    ArchiveEntry, ArticleChange, IndexEntry, PublishedPhrases, Store, StoreError, TopicData,
    TopicSummary, Withdrawn,
};
use crate::domain::StoredArticle;
use crate::store::sources::SourceState;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use db::sql;
use sqlx::{Database, Pool};
use std::collections::BTreeMap;
use std::fmt;

/// The store on a database of backend `B` (`sqlx::Sqlite` or
/// `sqlx::Postgres`); `open` is the backend's.
pub struct SqlStore<B: Backend> {
    pool: Pool<B>,
}

impl<B: Backend> SqlStore<B> {
    pub(in crate::store) fn from_pool(pool: Pool<B>) -> Self {
        Self { pool }
    }
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<B: Backend> fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &<B as Database>::NAME)
            .field("pool", &self.pool)
            .finish()
    }
}

#[async_trait::async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn migrate(&self) -> Result<(), StoreError> {
        let name = <B as Database>::NAME;
        B::migrator()
            .run(&self.pool)
            .await
            .with_context(|| format!("applying {name} migrations"))?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sql::<B>("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let latest = B::migrator().iter().map(|m| m.version).max().unwrap_or(0);
        self.ping().await?;
        // No migrations table at all reads as nothing applied.
        let applied: Option<i64> =
            sql::<B>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .scalar(&self.pool)
                .await
                .unwrap_or(None);
        match applied {
            Some(v) if v >= latest => Ok(()),
            v => Err(StoreError::Corrupt(format!(
                "migrations applied up to {}, this build needs {latest}: run `feedletter migrate`",
                v.unwrap_or(0)
            ))),
        }
    }

    async fn article_counts(&self) -> Result<(u64, u64), StoreError> {
        self.count_articles().await
    }

    async fn article_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        self.index().await
    }

    async fn apply_changes(&self, changes: &[ArticleChange]) -> Result<Vec<String>, StoreError> {
        self.apply(changes).await
    }

    async fn topics(&self) -> Result<Vec<TopicSummary>, StoreError> {
        self.topic_summaries().await
    }

    async fn topic_label(&self, topic: &str) -> Result<Option<String>, StoreError> {
        self.label_of(topic).await
    }

    async fn topic_articles(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        self.articles_of_topic(topic, limit).await
    }

    async fn published_articles(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        self.published(limit).await
    }

    async fn topic_data(&self, since: DateTime<Utc>) -> Result<TopicData, StoreError> {
        self.trending_data(since).await
    }

    async fn first_appearances(
        &self,
        topics: &[&str],
    ) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
        self.first_appearances_of(topics).await
    }

    async fn phrase_data(&self, since: DateTime<Utc>) -> Result<Vec<PublishedPhrases>, StoreError> {
        self.phrases_since(since).await
    }

    async fn archive_entries(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
        self.site_archive().await
    }

    async fn archive_entries_of(&self, slugs: &[&str]) -> Result<Vec<ArchiveEntry>, StoreError> {
        self.site_archive_of(slugs).await
    }

    async fn topic_slugs(
        &self,
        topics: Option<&[String]>,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        self.topic_slug_lists(topics).await
    }

    async fn topics_of_articles(
        &self,
        slugs: &[&str],
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        self.article_topic_lists(slugs).await
    }

    async fn archive_counts(&self) -> Result<(u64, BTreeMap<String, u64>), StoreError> {
        self.archive_totals().await
    }

    async fn articles_by_slug(&self, slugs: &[&str]) -> Result<Vec<StoredArticle>, StoreError> {
        self.bodies(slugs).await
    }

    async fn withdrawn_since(&self, since: DateTime<Utc>) -> Result<Vec<Withdrawn>, StoreError> {
        self.withdrawals(since).await
    }

    async fn article(&self, slug: &str) -> Result<Option<StoredArticle>, StoreError> {
        self.published_article(slug).await
    }

    async fn revision(&self) -> Result<i64, StoreError> {
        self.current_revision().await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.lease(name, holder, now, expires).await
    }

    async fn drop_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.release(name, holder).await
    }

    async fn source_state(&self, name: &str) -> Result<Option<SourceState>, StoreError> {
        self.load_source_state(name).await
    }

    async fn save_source_state(&self, state: &SourceState) -> Result<(), StoreError> {
        self.store_source_state(state).await
    }
}
