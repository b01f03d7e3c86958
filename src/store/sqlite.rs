//! SQLite: one file, WAL, migrations from `migrations/sqlite`.

use super::{ArticleChange, IndexEntry, Store, StoreError, TopicData};
use crate::domain::{Article, ArticleStatus, Person, Slug, StoredArticle};
use crate::topics::extract::TopicRef;
use anyhow::Context as _;
use chrono::{DateTime, FixedOffset};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

const ARTICLE_COLUMNS: &str = "slug, guid, source, status, title, summary, content_html, \
    author_name, author_email, reviewed_by, tags, category, image, url, published_at, \
    source_updated, updated_at";

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

fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, StoreError> {
    DateTime::parse_from_rfc3339(s).map_err(|e| StoreError::Corrupt(format!("time '{s}': {e}")))
}

const UPSERT_ROWS: usize = 200;
const TOPIC_ROWS: usize = 1000;

/// Replaces articles' topics: (slug, topics, when new ones were first seen).
/// A topic an article already had keeps its first-seen time.
async fn set_topics(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    sets: &[(&str, &[TopicRef], i64, bool)],
) -> Result<(), StoreError> {
    // Only slugs that may already have rows need the clearing pass.
    let existing: Vec<&(&str, &[TopicRef], i64, bool)> = sets.iter().filter(|s| s.3).collect();
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

fn ts(secs: i64) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs}")))
}

fn row_to_article(row: &sqlx::sqlite::SqliteRow) -> Result<StoredArticle, StoreError> {
    let slug: String = row.try_get("slug")?;
    let tags: String = row.try_get("tags")?;
    let status: String = row.try_get("status")?;
    let source_updated: Option<String> = row.try_get("source_updated")?;
    Ok(StoredArticle {
        article: Article {
            slug: Slug::parse(&slug).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            title: row.try_get("title")?,
            summary: row.try_get("summary")?,
            content_html: row.try_get("content_html")?,
            author: Person {
                name: row.try_get("author_name")?,
                email: row.try_get("author_email")?,
            },
            reviewed_by: row.try_get("reviewed_by")?,
            tags: serde_json::from_str(&tags)
                .map_err(|e| StoreError::Corrupt(format!("tags of {slug}: {e}")))?,
            category: row.try_get("category")?,
            image: row.try_get("image")?,
            url: row.try_get("url")?,
            published: parse_time(&row.try_get::<String, _>("published_at")?)?,
            updated: source_updated.as_deref().map(parse_time).transpose()?,
        },
        guid: row.try_get("guid")?,
        updated: parse_time(&row.try_get::<String, _>("updated_at")?)?,
        status: if status == "published" {
            ArticleStatus::Published
        } else {
            ArticleStatus::Withdrawn
        },
        source: row.try_get("source")?,
    })
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
        let rows = sqlx::query(
            "SELECT slug, source, status, content_hash, source_mtime_ns, source_size, render_key \
             FROM articles ORDER BY slug",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IndexEntry {
                    slug: r.try_get("slug")?,
                    source: r.try_get("source")?,
                    published: r.try_get::<String, _>("status")? == "published",
                    content_hash: r.try_get("content_hash")?,
                    source_mtime_ns: r.try_get("source_mtime_ns")?,
                    source_size: r.try_get("source_size")?,
                    render_key: r.try_get("render_key")?,
                })
            })
            .collect()
    }

    async fn apply_changes(&self, changes: &[ArticleChange]) -> Result<Vec<String>, StoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // Multi-row statements: a cold ingest of thousands of articles is
        // dominated by per-statement cost otherwise.
        let mut upserts = Vec::new();
        let mut topic_sets: Vec<(&str, &[TopicRef], i64, bool)> = Vec::new();
        let mut tx = self.pool.begin().await?;
        // Topics the changed articles had before this change.
        let slugs: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                ArticleChange::Upsert { new_slug: true, .. } => None,
                ArticleChange::Upsert { article, .. } => Some(article.slug.as_str()),
                ArticleChange::Restamp { slug, .. } | ArticleChange::Withdraw { slug, .. } => {
                    Some(slug.as_str())
                }
            })
            .collect();
        let mut touched = std::collections::BTreeSet::new();
        for chunk in slugs.chunks(TOPIC_ROWS) {
            let rows = sqlx::query(
                "SELECT DISTINCT topic_id FROM article_topics WHERE slug IN (SELECT value FROM json_each($1))",
            )
            .bind(serde_json::to_string(chunk).context("encoding slugs")?)
            .fetch_all(&mut *tx)
            .await?;
            for r in rows {
                touched.insert(r.try_get::<String, _>("topic_id")?);
            }
        }
        for change in changes {
            match change {
                ArticleChange::Upsert {
                    article,
                    source,
                    updated,
                    stamp,
                    at,
                    topics,
                    topics_at,
                    new_slug,
                } => {
                    upserts.push((article.as_ref(), source, updated, stamp, at));
                    topic_sets.push((
                        article.slug.as_str(),
                        topics,
                        topics_at.timestamp(),
                        !new_slug,
                    ));
                }
                ArticleChange::Restamp {
                    slug,
                    stamp,
                    topics,
                    topics_at,
                } => {
                    sqlx::query(
                        "UPDATE articles SET source_mtime_ns = $1, source_size = $2, render_key = $3 \
                         WHERE slug = $4",
                    )
                    .bind(stamp.mtime_ns)
                    .bind(stamp.size)
                    .bind(&stamp.render_key)
                    .bind(slug)
                    .execute(&mut *tx)
                    .await?;
                    topic_sets.push((slug.as_str(), topics, topics_at.timestamp(), true));
                }
                ArticleChange::Withdraw { slug, at } => {
                    sqlx::query(
                        "UPDATE articles SET status = 'withdrawn', withdrawn_ts = $1, \
                           source_mtime_ns = NULL, source_size = NULL, render_key = NULL \
                         WHERE slug = $2",
                    )
                    .bind(at.timestamp())
                    .bind(slug)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        for chunk in upserts.chunks(UPSERT_ROWS) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO articles (slug, guid, source, status, title, summary, content_html, \
                   author_name, author_email, reviewed_by, tags, category, image, url, \
                   published_at, published_ts, source_updated, updated_at, updated_ts, \
                   content_hash, first_seen_ts, withdrawn_ts, source_mtime_ns, source_size, render_key) ",
            );
            let mut bad = None;
            q.push_values(chunk, |mut row, (a, source, updated, stamp, at)| {
                let tags = serde_json::to_string(&a.tags).unwrap_or_else(|e| {
                    bad = Some(e);
                    String::new()
                });
                // The guid is fixed at first insert: the URL the article had then.
                row.push_bind(a.slug.to_string())
                    .push_bind(a.url.clone())
                    .push_bind((*source).clone())
                    .push_bind("published")
                    .push_bind(a.title.clone())
                    .push_bind(a.summary.clone())
                    .push_bind(a.content_html.clone())
                    .push_bind(a.author.name.clone())
                    .push_bind(a.author.email.clone())
                    .push_bind(a.reviewed_by.clone())
                    .push_bind(tags)
                    .push_bind(a.category.clone())
                    .push_bind(a.image.clone())
                    .push_bind(a.url.clone())
                    .push_bind(a.published.to_rfc3339())
                    .push_bind(a.published.timestamp())
                    .push_bind(a.updated.map(|u| u.to_rfc3339()))
                    .push_bind(updated.to_rfc3339())
                    .push_bind(updated.timestamp())
                    .push_bind(a.content_hash())
                    .push_bind(at.timestamp())
                    .push_bind(None::<i64>)
                    .push_bind(stamp.as_ref().map(|s| s.mtime_ns))
                    .push_bind(stamp.as_ref().map(|s| s.size))
                    .push_bind(stamp.as_ref().map(|s| s.render_key.clone()));
            });
            if let Some(e) = bad {
                return Err(StoreError::Other(
                    anyhow::Error::new(e).context("encoding tags"),
                ));
            }
            q.push(
                " ON CONFLICT (slug) DO UPDATE SET \
                   source = excluded.source, status = 'published', title = excluded.title, \
                   summary = excluded.summary, content_html = excluded.content_html, \
                   author_name = excluded.author_name, author_email = excluded.author_email, \
                   reviewed_by = excluded.reviewed_by, tags = excluded.tags, \
                   category = excluded.category, image = excluded.image, url = excluded.url, \
                   published_at = excluded.published_at, published_ts = excluded.published_ts, \
                   source_updated = excluded.source_updated, updated_at = excluded.updated_at, \
                   updated_ts = excluded.updated_ts, content_hash = excluded.content_hash, \
                   withdrawn_ts = NULL, source_mtime_ns = excluded.source_mtime_ns, \
                   source_size = excluded.source_size, render_key = excluded.render_key",
            );
            q.build().execute(&mut *tx).await?;
        }
        set_topics(&mut tx, &topic_sets).await?;
        tx.commit().await?;
        for (_, topics, _, _) in &topic_sets {
            touched.extend(topics.iter().map(|t| t.id.clone()));
        }
        Ok(touched.into_iter().collect())
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(topic)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_article).collect()
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_article).collect()
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
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_article).transpose()
    }
}
