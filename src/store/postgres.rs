//! PostgreSQL: one database shared by any number of instances, migrations
//! from `migrations/postgres`. Lists are bound as arrays (`= ANY($1)`,
//! `unnest`) where SQLite takes a JSON document.

use super::StoreError;
use super::rows::{ARTICLE_COLUMNS, ArticleRow, articles};
use super::shared::{TOPIC_ROWS, TopicSet};
use crate::domain::StoredArticle;
use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::str::FromStr as _;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user@host/db`).
    /// The password, if any, is never logged.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("store.url: not a PostgreSQL URL: {e}"))?
            .application_name("feedletter");
        let shown = redact(url);
        // One connection first: its error says why (refused, no such
        // database, authentication), where the pool's would only time out.
        {
            use sqlx::Connection as _;
            sqlx::PgConnection::connect_with(&options)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {shown}"))?
                .close()
                .await
                .ok();
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {shown}"))?;
        Ok(Self { pool })
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The topics these articles have now.
async fn topics_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    slugs: &[&str],
) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT topic_id FROM article_topics WHERE slug = ANY($1)")
            .bind(slugs)
            .fetch_all(&mut **tx)
            .await?,
    )
}

/// Replaces articles' topics. A topic an article already had keeps its
/// first-seen time.
async fn set_topics(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sets: &[TopicSet<'_>],
) -> Result<(), StoreError> {
    let existing: Vec<&TopicSet<'_>> = sets.iter().filter(|s| s.3).collect();
    for chunk in existing.chunks(TOPIC_ROWS) {
        let slugs: Vec<&str> = chunk.iter().map(|(s, _, _, _)| *s).collect();
        let (keep_slugs, keep_topics): (Vec<&str>, Vec<&str>) = chunk
            .iter()
            .flat_map(|(s, topics, _, _)| topics.iter().map(move |t| (*s, t.id.as_str())))
            .unzip();
        sqlx::query(
            "DELETE FROM article_topics WHERE slug = ANY($1) \
             AND (slug, topic_id) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        )
        .bind(&slugs)
        .bind(&keep_slugs)
        .bind(&keep_topics)
        .execute(&mut **tx)
        .await?;
    }
    let rows: Vec<(&str, &str, &str, i64, i64)> = sets
        .iter()
        .flat_map(|(s, topics, at, _)| {
            topics.iter().map(move |t| {
                (
                    *s,
                    t.id.as_str(),
                    t.label.as_str(),
                    *at,
                    i64::from(t.prominence),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(TOPIC_ROWS * 5) {
        let mut slugs = Vec::with_capacity(chunk.len());
        let mut ids = Vec::with_capacity(chunk.len());
        let mut labels = Vec::with_capacity(chunk.len());
        let mut seen = Vec::with_capacity(chunk.len());
        let mut lead = Vec::with_capacity(chunk.len());
        for (slug, id, label, at, prominence) in chunk {
            slugs.push(*slug);
            ids.push(*id);
            labels.push(*label);
            seen.push(*at);
            lead.push(*prominence);
        }
        sqlx::query(
            "INSERT INTO article_topics (slug, topic_id, label, first_seen_ts, prominence) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
             ON CONFLICT (slug, topic_id) DO UPDATE SET label = excluded.label, prominence = excluded.prominence",
        )
        .bind(&slugs)
        .bind(&ids)
        .bind(&labels)
        .bind(&seen)
        .bind(&lead)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

super::shared::store!(
    PgStore,
    db = sqlx::Postgres,
    migrations = "./migrations/postgres",
    name = "PostgreSQL",
    {
        async fn published_articles(
            &self,
            limit: Option<usize>,
        ) -> Result<Vec<StoredArticle>, StoreError> {
            // LIMIT NULL is no limit.
            let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
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
