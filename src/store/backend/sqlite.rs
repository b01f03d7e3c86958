//! SQLite: one file, WAL, migrations from `migrations/sqlite`. Lists are
//! bound as one JSON document and read with `json_each`: one bind instead
//! of one per element, which is most of the cost of many small rows.

use super::Backend;
use crate::store::sql::{ImportCommon, Sql, SqlDb, SqlStore, TopicRow, TopicSet, key, topics_json};
use crate::store::{ImportRow, StoreError};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Sqlite;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Page cache per connection, in KiB, for most uses: a large ingest
/// transaction otherwise spills pages to the WAL again and again.
pub const CACHE_KIB: u32 = 65_536;

impl SqlStore<Sqlite> {
    /// Opens (or creates) the database file and its folder, with `CACHE_KIB`
    /// of page cache per connection. Migrations are applied by
    /// `Store::migrate`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(path, CACHE_KIB).await
    }

    /// `open` with `cache_kib` of page cache per connection (each of the
    /// pool's connections keeps its own).
    pub async fn open_with_cache(path: &Path, cache_kib: u32) -> Result<Self, StoreError> {
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
            // Negative: KiB rather than pages.
            .pragma("cache_size", format!("-{cache_kib}"))
            .pragma("temp_store", "memory")
            // Read through a memory map: trending's reads of a large
            // store spent a fifth of their time copying pages into the
            // page cache and initialising new memory for it.
            .pragma("mmap_size", "1073741824")
            // After a checkpoint, a log that a large ingest grew is cut
            // back to this size instead of keeping its peak on disk.
            .pragma("journal_size_limit", "67108864")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file cannot go stale as a server's
            // can: no ping (a round trip to the connection's thread) before
            // every statement or transaction.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        Ok(Self::from_pool(pool))
    }
}

impl SqlDb for Sqlite {
    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// A list as the JSON document `json_each` reads.
fn json<T: Serialize + ?Sized>(items: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(items)
        .with_context(|| format!("encoding {what}"))
        .map_err(StoreError::from)
}

impl Backend for Sqlite {
    // SQLite has one writer at a time: a claim's UPDATE is exclusive.
    const CLAIM_LOCK: &'static str = "";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// `LIMIT -1` is no limit.
    fn limit(limit: Option<usize>) -> Option<i64> {
        Some(limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)))
    }

    fn in_list(column: &str, param: u8) -> String {
        format!("{column} IN (SELECT value FROM json_each(${param}))")
    }

    fn joined(column: &str) -> String {
        format!("group_concat({column}, char(10))")
    }

    /// As bytes: a text of several MB would be copied once more to end it
    /// with a NUL.
    fn json_rows(values: &str) -> String {
        format!("CAST({} AS BLOB)", Self::json_group(values))
    }

    fn json_group(values: &str) -> String {
        format!("json_group_array(json_array({values}))")
    }

    fn json(expr: &str) -> String {
        format!("json({expr})")
    }

    fn latest(a: &str, b: &str) -> String {
        format!("max({a}, {b})")
    }

    fn bind_texts<'q>(q: Sql<'q, Self>, items: &[&str]) -> Result<Sql<'q, Self>, StoreError> {
        Ok(q.bind(json(items, "a list")?))
    }

    fn bind_ids<'q>(q: Sql<'q, Self>, items: &[i64]) -> Result<Sql<'q, Self>, StoreError> {
        Ok(q.bind(json(items, "a list of ids")?))
    }

    /// The topics to keep travel as `slug U+001F topic` keys: SQLite has no
    /// row values to compare pairs against a JSON list with.
    async fn clear_topics(
        conn: &mut SqliteConnection,
        sets: &[&TopicSet<'_>],
    ) -> Result<(), StoreError> {
        let slugs: Vec<&str> = sets.iter().map(|s| s.slug).collect();
        let keep: Vec<String> = sets
            .iter()
            .flat_map(|s| s.topics.iter().map(|t| format!("{}\u{1f}{}", s.slug, t.id)))
            .collect();
        sqlx::query(
            "DELETE FROM article_topics WHERE slug IN (SELECT value FROM json_each($1)) \
             AND slug || char(31) || topic_id NOT IN (SELECT value FROM json_each($2))",
        )
        .bind(json(&slugs, "slugs")?)
        .bind(json(&keep, "topic keys")?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One JSON document of `[slug, topic, label, first seen, prominence]`
    /// rows rather than five binds per row.
    async fn insert_topics(
        conn: &mut SqliteConnection,
        rows: &[TopicRow<'_>],
    ) -> Result<(), StoreError> {
        let doc: Vec<(&str, &str, &str, i64, u8)> = rows
            .iter()
            .map(|r| (r.slug, r.topic, r.label, r.first_seen, r.prominence))
            .collect();
        sqlx::query(
            "INSERT INTO article_topics (slug, topic_id, label, first_seen_ts, prominence) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
             FROM json_each($1) WHERE true \
             ON CONFLICT (slug, topic_id) DO UPDATE SET label = excluded.label, \
             prominence = excluded.prominence",
        )
        .bind(json(&doc, "topics")?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One JSON document of `[topic, time]` pairs.
    async fn note_first_seen(
        conn: &mut SqliteConnection,
        topics: &[&str],
        times: &[i64],
    ) -> Result<(), StoreError> {
        let doc: Vec<(&str, i64)> = topics.iter().copied().zip(times.iter().copied()).collect();
        sqlx::query(
            "INSERT INTO topic_firsts (topic_id, first_seen_ts) \
             SELECT value ->> 0, value ->> 1 FROM json_each($1) WHERE true \
             ON CONFLICT (topic_id) DO UPDATE SET \
             first_seen_ts = min(first_seen_ts, excluded.first_seen_ts)",
        )
        .bind(json(&doc, "first appearances")?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One JSON document of `[email, topics, frequency, key]` rows.
    async fn insert_imports(
        conn: &mut SqliteConnection,
        rows: &[ImportRow],
        common: &ImportCommon<'_>,
    ) -> Result<u64, StoreError> {
        let doc: Vec<(&str, String, &str, String)> = rows
            .iter()
            .map(|r| {
                Ok((
                    r.email.as_str(),
                    topics_json(&r.topics)?,
                    r.frequency.as_str(),
                    key(r.email.as_str()),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let done = sqlx::query(
            "INSERT INTO subscribers (email, email_key, status, topics, frequency, created_ts, \
               consent_ts, consent_source, confirmed_ts, updated_ts) \
             SELECT value ->> 0, value ->> 3, $1, value ->> 1, value ->> 2, $2, $2, $3, $4, $2 \
             FROM json_each($5) WHERE true ON CONFLICT (email_key) DO NOTHING",
        )
        .bind(common.status.as_str())
        .bind(common.at)
        .bind(common.source)
        .bind(common.confirmed_at)
        .bind(json(&doc, "import rows")?)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    /// One JSON document of `[subscriber, hash]` rows: a claim of 200
    /// rows wrote 200 statements, each a round trip to SQLite's thread.
    async fn insert_manage_tokens(
        conn: &mut SqliteConnection,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO subscriber_tokens (token_hash, subscriber_id, purpose, created_ts, \
             expires_ts) SELECT value ->> 1, value ->> 0, 'manage', $1, $2 FROM json_each($3)",
        )
        .bind(now.timestamp())
        .bind(expires.timestamp())
        .bind(json(tokens, "manage tokens")?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
