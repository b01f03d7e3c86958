//! SQLite: one file, WAL, migrations from `migrations/sqlite`. Lists are
//! bound as one JSON document and read with `json_each`: one bind instead
//! of one per element, which is most of the cost of many small rows.

use super::Backend;
use crate::store::sql::{ImportCommon, Sql, SqlDb, SqlStore, TopicRow, TopicSet, key, topics_json};
use crate::store::{ImportRow, StoreError};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Page cache per connection, in KiB, for most uses: a large ingest
/// transaction otherwise spills pages to the WAL again and again.
pub const CACHE_KIB: u32 = 65_536;

/// SQLite's own threshold for copying the write-ahead log back into the
/// database file at commit, in pages (its default).
const AUTOCHECKPOINT_PAGES: u32 = 1000;

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
        let options = connect_options(path, cache_kib);
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

/// How every connection to the database file at `path` is set up.
fn connect_options(path: &Path, cache_kib: u32) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // For a new database file only (an existing one keeps its size): an
        // article's row (its HTML, 3 KB and more) no longer spills into an
        // overflow chain of 4 KiB pages. A cold ingest of 10,000 articles
        // spent 17 % less time writing (0.74-0.85 s to 0.59-0.65 s), in a
        // file 6 % smaller. Writes that batch their rows (digest results,
        // imports) took as long as before; a write of a row or two (a
        // subscription) pays up to 9 %, its pages going to the log whole.
        .page_size(16384)
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
        .foreign_keys(true)
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

    /// A cold ingest of 10,000 articles commits some 80 MB: copying them
    /// from the log into the database file, with its two `fsync`s, took
    /// 0.4 to 0.55 s of the commit, which every caller waited for.
    async fn defer_checkpoint(conn: &mut SqliteConnection) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_autocheckpoint = 0")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// A passive checkpoint, as SQLite's own at commit would have been:
    /// readers go on reading meanwhile (the build that follows an ingest
    /// reads what it wrote), and `Store::close` waits for it. When the
    /// pool is closed before the task gets a connection, closing the last
    /// connection checkpoints instead. The task first gives `conn` its
    /// checkpoints back; a connection whose setting cannot be restored
    /// (outside a runtime, or on an error) is closed instead of going back
    /// to the pool.
    fn checkpoint_later(mut conn: PoolConnection<Sqlite>, pool: &Pool<Sqlite>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            conn.close_on_drop();
            return;
        };
        let pool = pool.clone();
        runtime.spawn(async move {
            let restored = sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}"
            )))
            .execute(&mut *conn)
            .await;
            if let Err(e) = restored {
                tracing::warn!(error = %e, "restoring SQLite's checkpoints on a connection; closing it");
                conn.close_on_drop();
            }
            drop(conn);
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
                && !pool.is_closed()
            {
                tracing::warn!(error = %e, "checkpointing SQLite's write-ahead log");
            }
        });
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::backend::DeferredCheckpoint;
    use sqlx::Connection as _;

    /// A pool of one connection to `path`, set up as the store's are.
    async fn one_connection(path: &Path) -> Pool<Sqlite> {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options(path, CACHE_KIB))
            .await
            .unwrap()
    }

    /// The size of the database file itself, without its log.
    fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[tokio::test]
    async fn a_deferred_checkpoint_copies_the_log_later_and_the_connection_gets_its_checkpoints_back()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        // One connection: the checkpoint waits for it, and the test reads
        // the setting of the very connection the write used.
        let pool = one_connection(&path).await;
        sqlx::query("CREATE TABLE t (body TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        let empty = file_size(&path);

        let mut deferred = DeferredCheckpoint::<Sqlite>::acquire(&pool).await.unwrap();
        let mut tx = deferred.conn().begin().await.unwrap();
        // 32 MB, some 2,000 pages of 16 KiB: twice SQLite's threshold for
        // copying the log back at commit.
        let body = "skin ".repeat(4000);
        for _ in 0..1600 {
            sqlx::query("INSERT INTO t (body) VALUES ($1)")
                .bind(&body)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(
            file_size(&path),
            empty,
            "the commit copied the log into the database file"
        );

        drop(deferred);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while file_size(&path) < 32_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the log was never copied back: the database file has {} bytes",
                file_size(&path)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(pages, i64::from(AUTOCHECKPOINT_PAGES));
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 1600);
    }

    /// New stores get 16 KiB pages; a store made with SQLite's default
    /// 4 KiB keeps them, and opens and migrates as before.
    #[tokio::test]
    async fn new_stores_have_16_kib_pages_and_older_ones_keep_theirs() {
        use crate::store::Store as _;
        let dir = tempfile::tempdir().unwrap();
        // A property of the file: read through a connection of its own.
        let page_size = |path: std::path::PathBuf| async move {
            let pool = one_connection(&path).await;
            let size: i64 = sqlx::query_scalar("PRAGMA page_size")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            size
        };
        let new_path = dir.path().join("new.db");
        let new = SqlStore::<Sqlite>::open(&new_path).await.unwrap();
        new.migrate().await.unwrap();
        assert_eq!(page_size(new_path).await, 16384);

        let old_path = dir.path().join("old.db");
        let old = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options(&old_path, CACHE_KIB).page_size(4096))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE kept (v TEXT)")
            .execute(&old)
            .await
            .unwrap();
        old.close().await;
        let old = SqlStore::<Sqlite>::open(&old_path).await.unwrap();
        old.migrate().await.unwrap();
        assert_eq!(page_size(old_path).await, 4096);
        assert_eq!(old.revision().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_ingest_cancelled_with_its_checkpoints_deferred_gives_the_connection_its_checkpoints_back()
     {
        let dir = tempfile::tempdir().unwrap();
        // One connection, so that the pool hands back the very one the
        // cancelled write had.
        let pool = one_connection(&dir.path().join("store.db")).await;
        let setting = "PRAGMA wal_autocheckpoint";
        let cancelled = tokio::time::timeout(Duration::from_millis(50), async {
            let mut deferred = DeferredCheckpoint::<Sqlite>::acquire(&pool).await.unwrap();
            let pages: i64 = sqlx::query_scalar(setting)
                .fetch_one(deferred.conn())
                .await
                .unwrap();
            assert_eq!(pages, 0, "the checkpoints were not deferred");
            // The caller gives up on the write here (a timeout, a shutdown).
            std::future::pending::<()>().await;
        })
        .await;
        assert!(cancelled.is_err());
        let pages: i64 = sqlx::query_scalar(setting).fetch_one(&pool).await.unwrap();
        assert_eq!(
            pages,
            i64::from(AUTOCHECKPOINT_PAGES),
            "a cancelled write put its connection back without its checkpoints"
        );
    }
}
