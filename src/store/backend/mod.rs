//! What differs between SQLite and PostgreSQL, and only that; every
//! statement both read the same way lives in `sql/`.
//!
//! The differences are few: how a store is opened and which migrations it
//! has; how a list is bound (one JSON document read with `json_each` on
//! SQLite, which has no arrays; an array read with `= ANY` or `unnest` on
//! PostgreSQL); the multi-row writes built on those (topics, imports,
//! manage tokens); what `LIMIT` takes for "no limit"; and how a claim
//! locks rows (`FOR UPDATE SKIP LOCKED` lets several PostgreSQL instances
//! claim side by side, where SQLite's single writer makes a claim
//! exclusive anyway).
//!
//! `Backend` is implemented on the sqlx database types themselves
//! (`sqlx::Sqlite`, `sqlx::Postgres`), so `SqlStore<sqlx::Sqlite>` reads as
//! what it is.

mod postgres;
pub(crate) mod sqlite;

use super::sql::{ImportCommon, Sql, SqlDb, TopicRow, TopicSet};
use super::{ImportRow, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::pool::PoolConnection;
use std::future::Future;
use std::mem::ManuallyDrop;

/// A database the store runs on: what the shared statements need from
/// sqlx (`SqlDb`), connections that apply migrations, and the dialect's
/// own pieces below.
pub trait Backend: SqlDb<Connection: Migrate> + Send + Sync {
    /// Ends the sub-select that picks the rows a claim takes (queued mail,
    /// digest outbox rows): empty, or `FOR UPDATE SKIP LOCKED` with its
    /// leading space where several instances claim at once.
    const CLAIM_LOCK: &'static str;
    /// How a transaction that writes begins. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a transaction that read first and
    /// then wrote after another connection committed (a lease renewal, say)
    /// would fail with "database is locked" without waiting its turn.
    const BEGIN_WRITE: &'static str;

    /// The migrations this build knows.
    fn migrator() -> &'static Migrator;

    /// What to bind to `LIMIT` for at most `limit` rows, or for all rows
    /// when there is none.
    fn limit(limit: Option<usize>) -> Option<i64>;

    /// A condition true when `column` is one of the list bound as
    /// parameter `$param` (by `bind_texts` or `bind_ids`).
    fn in_list(column: &str, param: u8) -> String;

    /// An aggregate joining a group's `column` values with newlines (the
    /// values must hold none): one row per group instead of one per value
    /// spares the per-row cost of reading thousands of short rows.
    fn joined(column: &str) -> String;

    /// An aggregate making every row of a query one JSON array of `values`
    /// (a comma-separated list of expressions), all in one JSON text: `[]`
    /// when there is no row. For reads of thousands of rows of any text.
    fn json_rows(values: &str) -> String;

    /// An aggregate making a group's rows one JSON array of `values`
    /// each, as a JSON value (to nest in `json_rows`, through `json`).
    fn json_group(values: &str) -> String;

    /// `expr`, a JSON value a sub-select gave, as JSON to nest.
    fn json(expr: &str) -> String;

    /// The later of two integer expressions (times).
    fn latest(a: &str, b: &str) -> String;

    /// Binds a list of texts for `in_list`.
    fn bind_texts<'q>(q: Sql<'q, Self>, items: &[&str]) -> Result<Sql<'q, Self>, StoreError>;

    /// Binds a list of ids for `in_list`.
    fn bind_ids<'q>(q: Sql<'q, Self>, items: &[i64]) -> Result<Sql<'q, Self>, StoreError>;

    /// Deletes the topic rows of these articles that are not among their
    /// topics now (`TopicSet::topics`).
    fn clear_topics(
        conn: &mut Self::Connection,
        sets: &[&TopicSet<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Inserts topic rows; a row that exists keeps its first-seen time and
    /// takes the new label and prominence.
    fn insert_topics(
        conn: &mut Self::Connection,
        rows: &[TopicRow<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lowers each topic's `topic_firsts` time to `times[i]` when that is
    /// earlier, adding the topics it does not hold.
    fn note_first_seen(
        conn: &mut Self::Connection,
        topics: &[&str],
        times: &[i64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Before an ingest's write transaction on `conn`: SQLite stops
    /// copying its write-ahead log back into the database file at commit
    /// on this connection (see `checkpoint_later`). Nothing on PostgreSQL.
    fn defer_checkpoint(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After that transaction, committed, failed or cancelled: SQLite
    /// gives `conn` its usual checkpoints back and then copies the log
    /// into the database file, in a task of its own, so that the ingest's
    /// caller (the feeds' build) does not wait for it and a cancelled
    /// ingest cannot put the connection back in the pool without its
    /// checkpoints. Not async, so that `DeferredCheckpoint`'s drop can call
    /// it. Nothing on PostgreSQL.
    fn checkpoint_later(conn: PoolConnection<Self>, pool: &Pool<Self>);

    /// Inserts the import rows whose address is not on the list yet;
    /// returns how many it inserted.
    fn insert_imports(
        conn: &mut Self::Connection,
        rows: &[ImportRow],
        common: &ImportCommon<'_>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Inserts manage-link tokens: (subscriber id, token hash).
    fn insert_manage_tokens(
        conn: &mut Self::Connection,
        tokens: &[(i64, String)],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A pooled connection on which `Backend::defer_checkpoint` ran: however
/// its owner ends (the write done, an error, the future dropped half-way),
/// dropping it calls `Backend::checkpoint_later`.
pub(crate) struct DeferredCheckpoint<'p, B: Backend> {
    /// Taken out only by `drop`.
    conn: ManuallyDrop<PoolConnection<B>>,
    pool: &'p Pool<B>,
}

impl<'p, B: Backend> DeferredCheckpoint<'p, B> {
    /// A connection from `pool`, its checkpoints deferred.
    pub(crate) async fn acquire(pool: &'p Pool<B>) -> Result<Self, StoreError> {
        let mut deferred = Self {
            conn: ManuallyDrop::new(pool.acquire().await?),
            pool,
        };
        B::defer_checkpoint(deferred.conn()).await?;
        Ok(deferred)
    }

    pub(crate) fn conn(&mut self) -> &mut B::Connection {
        &mut self.conn
    }
}

impl<B: Backend> Drop for DeferredCheckpoint<'_, B> {
    fn drop(&mut self) {
        // SAFETY: `conn` is taken once, here, and never used again.
        let conn = unsafe { ManuallyDrop::take(&mut self.conn) };
        B::checkpoint_later(conn, self.pool);
    }
}
