//! SQLite: one file, WAL, migrations from `migrations/sqlite`.

use super::rows::{ARTICLE_COLUMNS, ArticleRow, INDEX_COLUMNS, IndexRow, articles, ts};
use super::shared::{
    BUMP_REVISION, DROP_LEASE, Plan, READ_REVISION, RESTAMP, TAKE_LEASE, TOPIC_ROWS, TopicSet,
    UPSERT_ROWS, WITHDRAW, article_upsert,
};
use super::{ArticleChange, IndexEntry, Store, StoreError, TopicData};
use crate::domain::StoredArticle;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // 64 MiB of page cache: a large ingest transaction otherwise spills
            // pages to the WAL again and again.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        Ok(Self { pool })
    }
}

/// Replaces articles' topics. A topic an article already had keeps its
/// first-seen time.
async fn set_topics(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    sets: &[TopicSet<'_>],
) -> Result<(), StoreError> {
    // Only slugs that may already have rows need the clearing pass.
    let existing: Vec<&TopicSet<'_>> = sets.iter().filter(|s| s.3).collect();
    for chunk in existing.chunks(TOPIC_ROWS) {
        let slugs: Vec<&str> = chunk.iter().map(|(s, _, _, _)| *s).collect();
        let keep: Vec<String> = chunk
            .iter()
            .flat_map(|(s, topics, _, _)| topics.iter().map(move |t| format!("{s}\u{1f}{}", t.id)))
            .collect();
        sqlx::query(
            "DELETE FROM article_topics WHERE slug IN (SELECT value FROM json_each($1)) \
             AND slug || char(31) || topic_id NOT IN (SELECT value FROM json_each($2))",
        )
        .bind(serde_json::to_string(&slugs).context("encoding slugs")?)
        .bind(serde_json::to_string(&keep).context("encoding topic keys")?)
        .execute(&mut **tx)
        .await?;
    }
    // One JSON document per chunk rather than four binds per row: binding
    // is most of the cost of many small rows.
    let rows: Vec<(&str, &str, &str, i64)> = sets
        .iter()
        .flat_map(|(s, topics, at, _)| {
            topics
                .iter()
                .map(move |t| (*s, t.id.as_str(), t.label.as_str(), *at))
        })
        .collect();
    for chunk in rows.chunks(TOPIC_ROWS * 5) {
        sqlx::query(
            "INSERT INTO article_topics (slug, topic_id, label, first_seen_ts) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1) WHERE true \
             ON CONFLICT (slug, topic_id) DO UPDATE SET label = excluded.label",
        )
        .bind(serde_json::to_string(chunk).context("encoding topics")?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .context("applying SQLite migrations")?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let latest = sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        self.ping().await?;
        // No migrations table at all reads as nothing applied.
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
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
        let row = sqlx::query(
            "SELECT COALESCE(SUM(status = 'published'), 0) AS p, COALESCE(SUM(status = 'withdrawn'), 0) AS w FROM articles",
        )
        .fetch_one(&self.pool)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((count(row.try_get("p")?), count(row.try_get("w")?)))
    }

    async fn article_index(&self) -> Result<Vec<IndexEntry>, StoreError> {
        let sql = format!("SELECT {INDEX_COLUMNS} FROM articles ORDER BY slug");
        let rows: Vec<IndexRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(IndexEntry::from).collect())
    }

    async fn apply_changes(&self, changes: &[ArticleChange]) -> Result<Vec<String>, StoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let plan = Plan::new(changes);
        let mut tx = self.pool.begin().await?;
        // Topics the changed articles had before this change.
        let mut before = BTreeSet::new();
        for chunk in plan.known.chunks(TOPIC_ROWS) {
            let topics: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT topic_id FROM article_topics WHERE slug IN (SELECT value FROM json_each($1))",
            )
            .bind(serde_json::to_string(chunk).context("encoding slugs")?)
            .fetch_all(&mut *tx)
            .await?;
            before.extend(topics);
        }
        for (slug, stamp) in &plan.restamps {
            sqlx::query(RESTAMP)
                .bind(stamp.mtime_ns)
                .bind(stamp.size)
                .bind(&stamp.render_key)
                .bind(slug)
                .execute(&mut *tx)
                .await?;
        }
        for (slug, at) in &plan.withdrawals {
            sqlx::query(WITHDRAW)
                .bind(at)
                .bind(slug)
                .execute(&mut *tx)
                .await?;
        }
        for chunk in plan.upserts.chunks(UPSERT_ROWS) {
            article_upsert::<sqlx::Sqlite>(chunk)?
                .build()
                .execute(&mut *tx)
                .await?;
        }
        set_topics(&mut tx, &plan.topic_sets).await?;
        sqlx::query(BUMP_REVISION).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(plan.touched(before))
    }

    async fn topics(&self) -> Result<Vec<(String, String, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.topic_id, MIN(t.label) AS label, COUNT(*) AS n FROM article_topics t \
             JOIN articles a ON a.slug = t.slug WHERE a.status = 'published' \
             GROUP BY t.topic_id ORDER BY t.topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("topic_id")?,
                    r.try_get("label")?,
                    u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(u32::MAX),
                ))
            })
            .collect()
    }

    async fn topic_label(&self, topic: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT label FROM article_topics WHERE topic_id = $1 ORDER BY label LIMIT 1",
        )
        .bind(topic)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("label"))
            .transpose()
            .map_err(Into::into)
    }

    async fn topic_articles(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' \
             AND slug IN (SELECT slug FROM article_topics WHERE topic_id = $1) \
             ORDER BY published_ts DESC, slug ASC LIMIT $2"
        );
        let rows: Vec<ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(topic)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        articles(rows)
    }

    async fn published_articles(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE status = 'published' \
             ORDER BY published_ts DESC, slug ASC LIMIT $1"
        );
        let rows: Vec<ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        articles(rows)
    }

    async fn topic_data(&self) -> Result<TopicData, StoreError> {
        let rows = sqlx::query(
            "SELECT slug, published_ts FROM articles WHERE status = 'published' ORDER BY slug",
        )
        .fetch_all(&self.pool)
        .await?;
        let articles = rows
            .iter()
            .map(|r| Ok((r.try_get("slug")?, ts(r.try_get("published_ts")?)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = sqlx::query(
            "SELECT t.slug, t.topic_id, t.label, t.first_seen_ts FROM article_topics t \
             JOIN articles a ON a.slug = t.slug WHERE a.status = 'published' \
             ORDER BY t.slug, t.topic_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let occurrences = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("slug")?,
                    r.try_get("topic_id")?,
                    r.try_get("label")?,
                    ts(r.try_get("first_seen_ts")?)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(TopicData {
            articles,
            occurrences,
        })
    }

    async fn article(&self, slug: &str) -> Result<Option<StoredArticle>, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE slug = $1 AND status = 'published'"
        );
        let row: Option<ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.map(StoredArticle::try_from).transpose()
    }

    async fn revision(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(READ_REVISION)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(TAKE_LEASE)
            .bind(name)
            .bind(holder)
            .bind(expires.timestamp())
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn drop_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query(DROP_LEASE)
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
