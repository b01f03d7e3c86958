//! SQLite: one file, WAL, migrations from `migrations/sqlite`.

use super::StoreError;
use super::rows::{ARTICLE_COLUMNS, ArticleRow, articles};
use super::shared::{TOPIC_ROWS, TopicSet};
use crate::domain::StoredArticle;
use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
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

/// The topics these articles have now.
async fn topics_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    slugs: &[&str],
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT DISTINCT topic_id FROM article_topics WHERE slug IN (SELECT value FROM json_each($1))")
        .bind(serde_json::to_string(slugs).context("encoding slugs")?)
        .fetch_all(&mut **tx)
        .await?)
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
    let rows: Vec<(&str, &str, &str, i64, u8)> = sets
        .iter()
        .flat_map(|(s, topics, at, _)| {
            topics
                .iter()
                .map(move |t| (*s, t.id.as_str(), t.label.as_str(), *at, t.prominence))
        })
        .collect();
    for chunk in rows.chunks(TOPIC_ROWS * 5) {
        sqlx::query(
            "INSERT INTO article_topics (slug, topic_id, label, first_seen_ts, prominence) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each($1) WHERE true \
             ON CONFLICT (slug, topic_id) DO UPDATE SET label = excluded.label, prominence = excluded.prominence",
        )
        .bind(serde_json::to_string(chunk).context("encoding topics")?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

super::shared::store!(
    SqliteStore,
    db = sqlx::Sqlite,
    migrations = "./migrations/sqlite",
    name = "SQLite",
    {
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
    }
);
